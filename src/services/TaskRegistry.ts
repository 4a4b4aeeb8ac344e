import type { Effect, Option, Stream } from "effect"
import { Context } from "effect"
import type {
  IdempotencyKeyReused,
  InvalidPayload,
  RegistryBusy,
  RegistryFull,
  RegistryUnavailable,
  TaskAlreadyFinished,
  TaskExpired,
  TaskNoLongerHeld,
  TaskNotFound,
  TaskTooLarge
} from "../domain/Errors.js"
import type { Tombstone } from "../domain/RegistryState.js"
import type { Task, TaskStatus } from "../domain/Task.js"
import type { TaskId } from "../domain/TaskId.js"
import type { TaskKind } from "../domain/TaskKind.js"

export interface ListFilter {
  /** Only tasks in this status. */
  readonly status?: TaskStatus | undefined
  /** At most this many tasks. */
  readonly limit?: number | undefined
}

export interface SubmitOptions {
  /**
   * Makes the submit safe to repeat: while the task's record or tombstone is held, a submit with the same key and
   * the same kind and payload answers that task (its record as first stored) instead of making another, and one
   * with another kind or payload fails with `IdempotencyKeyReused`. 1 to 255 printable ASCII characters.
   */
  readonly idempotencyKey?: string | undefined
}

export interface RegistryStats {
  readonly pending: number
  readonly processing: number
  readonly finished: number
  readonly tombstones: number
  /** When the oldest finished record completed (the one eviction takes next), if there is one. */
  readonly oldestFinishedAt: Option.Option<number>
}

/**
 * One change the registry made: a record that changed (submitted, claimed, progressed, finished, handed back), or a
 * record that was evicted, by age or by the `TASK_MAX_RETAINED` cap, leaving its tombstone; `here` when this process
 * made it (always, in memory; on a shared store, other processes' changes come too). Each has an `id` from one
 * registry-wide sequence, from which `eventsAfter` resumes. Or word that changes were missed (a reader fell behind,
 * or a shared store's notices were cut off for a while): a reader that keeps a view of the registry should read it
 * again, or resume with `eventsAfter` from the last id it has.
 */
export type RegistryEvent =
  | { readonly _tag: "Changed"; readonly id: string; readonly task: Task; readonly here: boolean }
  | {
      readonly _tag: "Evicted"
      readonly id: string
      readonly tombstone: Tombstone
      readonly cause: "age" | "cap"
      readonly here: boolean
    }
  | { readonly _tag: "Missed" }

/** A change or an eviction before the store has given it its id. */
export type UntoldEvent =
  Omit<Extract<RegistryEvent, { _tag: "Changed" }>, "id"> | Omit<Extract<RegistryEvent, { _tag: "Evicted" }>, "id">

/**
 * Keeps background tasks and their records, evicting finished ones so that memory stays bounded. Tasks are data
 * (a kind and a payload); workers with a handler for the kind run them. Every operation may fail with
 * `RegistryUnavailable` when the store cannot be reached (the in-memory store never does).
 */
export class TaskRegistry extends Context.Tag("storyflow/TaskRegistry")<
  TaskRegistry,
  {
    /**
     * Accepts a task of `kind` and answers its PENDING record at once; a worker runs it when one is free. Refused
     * with `RegistryFull` / `RegistryBusy` while the unfinished tasks are at their limit (of count, of work), and
     * with `TaskTooLarge` when the task alone is more work than the limit. See `SubmitOptions` for an idempotency
     * key, which makes a retry (after a timeout or a `RegistryUnavailable` that may have been stored) safe.
     */
    readonly submit: <Name extends string, A, I>(
      kind: TaskKind<Name, A, I>,
      payload: A,
      options?: SubmitOptions
    ) => Effect.Effect<
      Task,
      RegistryFull | RegistryBusy | TaskTooLarge | InvalidPayload | IdempotencyKeyReused | RegistryUnavailable
    >
    /**
     * The task's current record; `TaskExpired` once it is past the retention period, swept or not, while its
     * tombstone is held; then `TaskNoLongerHeld` for an id this service issued, and `TaskNotFound` for any other.
     */
    readonly get: (
      id: TaskId
    ) => Effect.Effect<Task, TaskNotFound | TaskExpired | TaskNoLongerHeld | RegistryUnavailable>
    /** Live records, newest first. */
    readonly list: (filter: ListFilter) => Effect.Effect<ReadonlyArray<Task>, RegistryUnavailable>
    /**
     * Cancels a PENDING or PROCESSING task in one atomic step and answers its CANCELLED record; the worker running
     * it (in any process) stops its handler.
     */
    readonly cancel: (
      id: TaskId
    ) => Effect.Effect<Task, TaskNotFound | TaskExpired | TaskNoLongerHeld | TaskAlreadyFinished | RegistryUnavailable>
    /**
     * The task's snapshots: the current one first, then one per change (each with a greater `version`), ending
     * after the terminal state. Fails like `get` when the task is not known or has expired.
     */
    readonly watch: (
      id: TaskId
    ) => Stream.Stream<Task, TaskNotFound | TaskExpired | TaskNoLongerHeld | RegistryUnavailable>
    /**
     * Every change from now on, in the order the store made them (a task's changes in version order), for as long
     * as the stream is read. Each reader has a bounded buffer: one that falls behind gets what it had been given,
     * then `Missed`, and its stream ends; it never silently skips a change.
     */
    readonly events: Stream.Stream<RegistryEvent, RegistryUnavailable>
    /**
     * Resumes `events` after the event with id `lastEventId`: the events after it that the store's bounded history
     * still holds (the last 10,000 or so; on a shared store, whichever process made or heard them), then every change
     * from now on like `events`. When the history no longer holds it, or the id is not one of this registry's, the
     * stream starts with `Missed` (read what you rely on again) and goes on with every change from now on.
     */
    readonly eventsAfter: (lastEventId: string) => Stream.Stream<RegistryEvent, RegistryUnavailable>
    /** Evicts what is due now and answers how many records it removed. */
    readonly sweep: Effect.Effect<number, RegistryUnavailable>
    /** Counts of what the registry holds right now, and its oldest finished record's age; O(1) on Redis. */
    readonly stats: Effect.Effect<RegistryStats, RegistryUnavailable>
    /**
     * True when `get` answers without waiting on I/O (the store is this process's memory): the HTTP server then
     * answers status polls ahead of the platform (src/http/transport/Polling.ts). A store over the network leaves it
     * unset, and a poll costs it exactly one read.
     */
    readonly readsInProcess?: true
  }
>() {}
