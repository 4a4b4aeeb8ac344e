import { Clock, Effect, Option, Schema } from "effect"
import { createHash } from "node:crypto"
import { InvalidPayload, TaskExpired, TaskNoLongerHeld, TaskNotFound, TaskTooLarge } from "../../domain/Errors.js"
import { describeInvalid, invalidKey } from "../../domain/IdempotencyKey.js"
import type { Tombstone } from "../../domain/RegistryState.js"
import * as Task from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { TaskKind } from "../../domain/TaskKind.js"
import { invalidName, weightOf } from "../../domain/TaskKind.js"
import type { TaskIds } from "../../services/TaskIds.js"
import type { SubmitOptions } from "../../services/TaskRegistry.js"

// What every store answers the same way (and logs the same way: see EvictionLog).

/** What a request for a task that is not held answers. */
export type NotHeld = TaskExpired | TaskNoLongerHeld | TaskNotFound

/** Why `id` is not held: its tombstone while there is one, else what its signature says, else not found. */
export const notHeld = (ids: TaskIds["Type"], tombstone: Option.Option<Tombstone>, id: TaskId): NotHeld =>
  Option.match(tombstone, {
    onNone: (): NotHeld =>
      Option.match(ids.issuedAt(id), {
        onNone: () => new TaskNotFound({ taskId: id }),
        onSome: (createdAt) => new TaskNoLongerHeld({ taskId: id, createdAt })
      }),
    onSome: (t) =>
      new TaskExpired({ taskId: t.id, status: t.status, completedAt: t.completedAt, evictedAt: t.evictedAt })
  })

/**
 * The PENDING record a submit would store, made the same way by every store: the payload encoded by its kind's
 * schema, its total and weight checked (kinds are user code: a count that is not a whole number would corrupt the
 * registry's bookkeeping for good), refused when it alone is more work than the registry ever holds, and an id that
 * carries `now`, signed, so that it is recognised after its record and tombstone are gone.
 */
export const pendingTask = <Name extends string, A, I>(
  ids: TaskIds["Type"],
  maxPendingWork: number,
  kind: TaskKind<Name, A, I>,
  payload: A
): Effect.Effect<Task.Pending, InvalidPayload | TaskTooLarge> =>
  Effect.gen(function* () {
    // A kind made without `TaskKind.make`, which checks its name where it is declared.
    const invalid = invalidName(kind.name)
    if (invalid !== undefined) return yield* Effect.dieMessage(invalid)
    const encoded = yield* Schema.encode(kind.payload)(payload).pipe(
      Effect.mapError((e) => new InvalidPayload({ kind: kind.name, reason: e.message }))
    )
    const total = kind.total(payload)
    const weight = weightOf(kind, payload)
    for (const [name, count] of [
      ["total", total],
      ["weight", weight]
    ] as const) {
      if (!Number.isSafeInteger(count) || count < 0) {
        return yield* new InvalidPayload({ kind: kind.name, reason: `its ${name} is ${count}, not a whole number` })
      }
    }
    if (weight > maxPendingWork) return yield* new TaskTooLarge({ weight, maxPendingWeight: maxPendingWork })
    const now = yield* Clock.currentTimeMillis
    return Task.pending({ id: yield* ids.make(now), kind: kind.name, payload: encoded, total, weight, createdAt: now })
  })

/**
 * What tells a repeated submit from a reuse of its key: the SHA-256, in hex, of the kind's name, a newline, and the
 * payload as its kind encodes it, in JSON. Every store computes it the same way, so that a key means the same task
 * whichever process a retry reaches.
 */
export const fingerprintOf = (kindName: string, encodedPayload: unknown): string =>
  createHash("sha256")
    .update(`${kindName}\n${JSON.stringify(encodedPayload)}`)
    .digest("hex")

/**
 * The idempotency key of a submit, if it has one. A key that breaks the rule is the caller's bug, not a state of
 * the registry, so it is a defect with a message that says what is wrong (HTTP checks its header before this).
 */
export const idempotencyKeyOf = (options: SubmitOptions | undefined): Effect.Effect<string | undefined> => {
  const key = options?.idempotencyKey
  if (key === undefined) return Effect.succeed(undefined)
  const reason = invalidKey(key)
  return reason === undefined
    ? Effect.succeed(key)
    : Effect.dieMessage(`Invalid idempotency key ${JSON.stringify(shortened(key))}: it ${describeInvalid(reason)}`)
}

const shortened = (key: string) => (key.length > 80 ? `${key.slice(0, 80)}…` : key)
