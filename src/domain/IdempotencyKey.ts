import { Schema } from "effect"
import * as Task from "./Task.js"
import type { TaskId } from "./TaskId.js"

// What an idempotency key may be, and what a store keeps of the submit that first used it. Every store and the HTTP
// header check keys here, so that a key one of them accepts is accepted by all of them.

/** The rule, as one sentence: said in every message about a bad key. */
export const RULE = "1 to 255 printable ASCII characters (space to ~), not starting or ending with a space"

export const MAX_LENGTH = 255

/** What is wrong with `key` as an idempotency key, or undefined when it is a valid one. */
export const invalidKey = (key: string): string | undefined => {
  if (key.length === 0) return "it is empty"
  if (key.length > MAX_LENGTH) return `it has ${key.length} characters`
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i)
    if (code < 0x20 || code > 0x7e) {
      return `its character ${i + 1} is U+${code.toString(16).toUpperCase().padStart(4, "0")}, not printable ASCII`
    }
  }
  if (key.startsWith(" ")) return "it starts with a space"
  if (key.endsWith(" ")) return "it ends with a space"
  return undefined
}

/** The message for an invalid key: the rule, then what is wrong with this one. */
export const describeInvalid = (reason: string) => `must be ${RULE}; ${reason}`

/** The rule as a JSON Schema: printable ASCII, the first and last not a space. */
export const JSON_SCHEMA = {
  type: "string",
  minLength: 1,
  maxLength: MAX_LENGTH,
  pattern: "^[!-~]([ -~]*[!-~])?$"
} as const

/**
 * An idempotency key as a schema, for a boundary that decodes one (the HTTP header); `say` words the message about a
 * bad key from what is wrong with it, so that the boundary can name itself. Its JSON Schema says the same rule.
 */
export const schema = (say: (problem: string) => string = (problem) => problem) =>
  Schema.String.pipe(
    Schema.filter((key) => {
      const reason = invalidKey(key)
      return reason === undefined ? true : say(describeInvalid(reason))
    }),
    Schema.annotations({
      identifier: "IdempotencyKey",
      description: `An idempotency key: ${RULE}`,
      jsonSchema: JSON_SCHEMA
    })
  )

export const IdempotencyKey = schema()

/**
 * What a store keeps of the submit that first used a key, for as long as that task's record or tombstone is held:
 * the task it made, a fingerprint of its kind and payload (to tell a repeat from a reuse), and the fields that,
 * with the payload a repeat brings (the same, by the fingerprint), make the task's record as first stored.
 */
export interface KeyEntry {
  readonly taskId: TaskId
  readonly fingerprint: string
  readonly total: number
  readonly weight: number
  readonly createdAt: number
}

/** The entry a submit that stores `task` under a key leaves. */
export const entryOf = (task: Task.Pending, fingerprint: string): KeyEntry => ({
  taskId: task.id,
  fingerprint,
  total: task.total,
  weight: task.weight,
  createdAt: task.createdAt
})

/**
 * The record a repeated submit answers: the task's PENDING record as first stored (version 1, no attempts),
 * whatever it has become since, so that a retry sees what the first answer would have said.
 */
export const firstStored = (entry: KeyEntry, kind: string, encodedPayload: unknown): Task.Pending =>
  Task.pending({
    id: entry.taskId,
    kind,
    payload: encodedPayload,
    total: entry.total,
    weight: entry.weight,
    createdAt: entry.createdAt
  })
