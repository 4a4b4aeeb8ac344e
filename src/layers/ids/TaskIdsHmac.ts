import { Effect, Layer, Option, Redacted } from "effect"
import type { ConfigError } from "effect"
import { createHmac, randomBytes, randomFillSync } from "node:crypto"
import { pack, RANDOM_BITS, TAG_BITS, TIME_BITS, unpack } from "../../domain/TaskId.js"
import type { TaskId } from "../../domain/TaskId.js"
import * as Settings from "../../services/Settings.js"
import { TaskIds } from "../../services/TaskIds.js"

// What the signature covers besides the id's fields: a label, so that a key used for anything else (or a later
// layout of these ids) never yields a valid tag by accident.
const LABEL = Buffer.from("storyflow/task-id/v1\u0000", "utf8")
const TIME_BYTES = TIME_BITS / 8
const RANDOM_BYTES = RANDOM_BITS / 8
const LATEST = 2 ** TIME_BITS - 1

/**
 * Signs and checks ids under `key`, with the random bits given: HMAC-SHA256 over the label, the creation time and
 * the random bits, truncated to its first `TAG_BITS` bits. Pure given its inputs, so that tests can build ids they
 * choose; `make` adds fresh randomness.
 */
export const signer = (key: Redacted.Redacted<Uint8Array>) => {
  const secret = Redacted.value(key)
  const tagOf = (createdAt: number, random: number): number => {
    const message = Buffer.alloc(LABEL.length + TIME_BYTES + RANDOM_BYTES)
    LABEL.copy(message)
    message.writeUIntBE(createdAt, LABEL.length, TIME_BYTES)
    message.writeUIntBE(random, LABEL.length + TIME_BYTES, RANDOM_BYTES)
    return createHmac("sha256", secret).update(message).digest().readUInt32BE(0) >>> (32 - TAG_BITS)
  }
  return {
    /** The id of a task created at `createdAt` with these random bits. */
    sign: (createdAt: number, random: number): TaskId => pack({ createdAt, random, tag: tagOf(createdAt, random) }),
    /** The id's creation time, if its tag is the one this key gives its time and random bits. */
    issuedAt: (id: string): Option.Option<number> =>
      Option.flatMap(unpack(id), (fields) =>
        // A whole-number comparison of two 26-bit values: no early exit for a timing attack to measure.
        tagOf(fields.createdAt, fields.random) === fields.tag ? Option.some(fields.createdAt) : Option.none()
      )
  }
}

/**
 * Ids signed under `key`. Their random bits come from the operating system's CSPRNG rather than Effect's `Random`
 * (a seeded PRNG whose output can be predicted), because knowing an id is enough to read or cancel its task.
 */
export const make = (key: Redacted.Redacted<Uint8Array>) =>
  Effect.sync(() => {
    const { issuedAt, sign } = signer(key)
    // Random bytes are drawn a thousand ids at a time (as `crypto.randomUUID` does): one call per id costs more than
    // signing it. Each id's bits are used once.
    const pool = Buffer.alloc(RANDOM_BYTES * 1024)
    let used = pool.length
    const random = () => {
      if (used === pool.length) {
        randomFillSync(pool)
        used = 0
      }
      const bits = pool.readUIntBE(used, RANDOM_BYTES)
      used += RANDOM_BYTES
      return bits
    }
    return TaskIds.of({
      make: (createdAt) =>
        Effect.sync(() =>
          // A time outside what 48 bits of milliseconds can say (before 1970, after 10889) is kept at the edge.
          sign(Math.min(Math.max(Math.floor(createdAt), 0), LATEST), random())
        ),
      issuedAt
    })
  })

/** A fresh random key, as long as SHA-256's output. */
export const randomKey: Effect.Effect<Redacted.Redacted<Uint8Array>> = Effect.sync(() => Redacted.make(randomBytes(32)))

/** Ids signed under the given key. */
export const layer = (key: Redacted.Redacted<Uint8Array>): Layer.Layer<TaskIds> => Layer.effect(TaskIds, make(key))

/**
 * Ids signed under a key made when the layer is built and never stored: they are recognised for as long as this
 * layer lives, so a registry built afresh answers "never issued" for ids from before. What a library user gets by
 * default, with nothing to configure.
 */
export const layerEphemeral: Layer.Layer<TaskIds> = Layer.effect(TaskIds, Effect.flatMap(randomKey, make))

/** Ids signed under `TASK_ID_SECRET` if it is set, else under an ephemeral key. */
export const layerConfig: Layer.Layer<TaskIds, ConfigError.ConfigError> = Layer.effect(
  TaskIds,
  Effect.flatMap(Settings.taskIdSecret, Option.match({ onNone: () => Effect.flatMap(randomKey, make), onSome: make }))
)
