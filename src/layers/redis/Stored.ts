import { Either, Schema } from "effect"
import { Tombstone } from "../../domain/RegistryState.js"
import { Task } from "../../domain/Task.js"

// How records travel to and from Redis. A record is a hash with one field per field of the encoded task, each value
// JSON text, so that the scripts can move a task on by setting a few fields, and read it back as JSON by joining them.

const encode = Schema.encodeSync(Task)

/** The record's hash fields and values, flat, as the scripts take them. */
export const toFields = (task: Task): Array<string> => {
  const fields: Array<string> = []
  for (const [key, value] of Object.entries(encode(task))) {
    if (value !== undefined) fields.push(key, JSON.stringify(value))
  }
  return fields
}

const decodeJson = Schema.decodeUnknownEither(Schema.parseJson(Task))

/** A record from the JSON text a script built of it; a record that does not decode is a defect of the store. */
export const fromJson = (text: unknown): Task =>
  Either.getOrThrowWith(decodeJson(text), (e) => new Error(`A task record in Redis does not decode: ${e.message}`))

/** A record from its hash, as `HGETALL` answers it. */
export const fromHash = (hash: Record<string, string>): Task =>
  fromJson(
    `{${Object.entries(hash)
      .map(([key, value]) => `${JSON.stringify(key)}:${value}`)
      .join(",")}}`
  )

const StoredTombstone = Schema.parseJson(Schema.Struct(Tombstone.fields).pipe(Schema.omit("id")))
const decodeTombstone = Schema.decodeUnknownEither(StoredTombstone)

/** A tombstone from the JSON text the scripts keep of it. */
export const tombstoneFromJson = (id: string, text: unknown): Tombstone =>
  new Tombstone({
    id: Schema.decodeSync(Tombstone.fields.id)(id),
    ...Either.getOrThrowWith(
      decodeTombstone(text),
      (e) => new Error(`A tombstone in Redis does not decode: ${e.message}`)
    )
  })

const EvictionMessage = Schema.parseJson(Schema.Struct({ ...Tombstone.fields, cause: Schema.Literal("age", "cap") }))

/** An eviction as the scripts publish it. */
export const decodeEviction = Schema.decodeUnknownEither(EvictionMessage)
