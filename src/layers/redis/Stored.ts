import { Either, Schema } from "effect"
import { Tombstone } from "../../domain/RegistryState.js"
import { Task } from "../../domain/Task.js"

// How records travel to and from Redis. An active record is a hash with one field per field of the encoded task, each
// value JSON text, so that the scripts can move a task on by setting a few fields, and read it back as JSON by joining
// them. A finished record no longer changes: it is one JSON string, its status first, so that a script can read it.

const encode = Schema.encodeSync(Task)

/** An active record as the scripts take it: its JSON, then its hash fields and values, flat. */
export const toActive = (task: Task): Array<string> => {
  const fields: Array<string> = []
  const members: Array<string> = []
  for (const [key, value] of Object.entries(encode(task))) {
    if (value === undefined) continue
    // Each value is written as JSON once, for both forms.
    const json = JSON.stringify(value)
    fields.push(key, json)
    members.push(`${JSON.stringify(key)}:${json}`)
  }
  return [`{${members.join(",")}}`, ...fields]
}

/** A finished record as the scripts keep it: JSON text with its status first. */
export const toJson = (task: Task): string => {
  const { _tag, ...fields } = encode(task)
  return JSON.stringify({ _tag, ...fields })
}

const decodeJson = Schema.decodeUnknownEither(Schema.parseJson(Task))

/** A record from the JSON text a script built of it; a record that does not decode is a defect of the store. */
export const fromJson = (text: unknown): Task =>
  Either.getOrThrowWith(decodeJson(text), (e) => new Error(`A task record in Redis does not decode: ${e.message}`))

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
