/** The task's identifier: a branded UUID; issued ones are UUIDv8 carrying their creation time, signed. */
export { TaskId } from "./domain/TaskId.js"

export {
  /** Cancelled on request or interrupted. */
  Cancelled,
  /** The run ended normally. */
  Completed,
  /** One segment's audio, as a handler reports it. */
  CompletedSegment,
  /** The run failed or died, or every segment failed. */
  Failed,
  /** A move the task state machine does not allow. */
  InvalidTransition,
  /** Whether a task is PENDING or PROCESSING. */
  isActive,
  /** Whether a task is COMPLETED, FAILED or CANCELLED. */
  isFinished,
  /** Submitted, waiting for a worker slot. */
  Pending,
  /** Running. */
  Processing,
  /** Processed segments against the total. */
  progress,
  /** One segment's failure, as a handler reports it. */
  SegmentError,
  /** The task: a tagged union of its five states. */
  Task,
  /** The five statuses. */
  TaskStatus
} from "./domain/Task.js"
export type {
  /** A PENDING or PROCESSING task. */
  ActiveTask,
  /** A COMPLETED, FAILED or CANCELLED task. */
  FinishedTask,
  /** Processed segments against the total. */
  Progress
} from "./domain/Task.js"

export {
  /** An idempotency key already used for another task (another kind or payload); not accepted. */
  IdempotencyKeyReused,
  /** A payload its kind's schema cannot encode; the task was not submitted. */
  InvalidPayload,
  /** Past TASK_MAX_PENDING_WORK units of unfinished work; retry later. */
  RegistryBusy,
  /** Past TASK_MAX_PENDING unfinished tasks; retry later. */
  RegistryFull,
  /** The task store did not answer: a write may or may not have been made; retry (a submit with its idempotency key). */
  RegistryUnavailable,
  /** A finished task cannot be cancelled. */
  TaskAlreadyFinished,
  /** The task finished and its record has expired; carries its tombstone. */
  TaskExpired,
  /** The id was issued here but neither record nor tombstone is held any more; carries its creation time. */
  TaskNoLongerHeld,
  /** No task with this id is known. */
  TaskNotFound,
  /** A task that alone is more work than TASK_MAX_PENDING_WORK. */
  TaskTooLarge
} from "./domain/Errors.js"

/** The pure registry state and its eviction: `evictExpired`, `enforceCap`, `evict`, tombstones, the pending queue. */
export * as RegistryState from "./domain/RegistryState.js"
/** Removes finished records past the threshold; pure, O(k log n) for k evicted. */
export { evictExpired } from "./domain/RegistryState.js"
/** How a run ended and what a worker reports, as data any store can apply. */
export { ProgressReport, RunOutcome } from "./domain/Outcome.js"

/** A kind of task: a name, a payload schema, its units of progress and its weight. `TaskKind.make({ name, payload, total, weight? })`. */
export * as TaskKind from "./domain/TaskKind.js"

/** The registry service and its request types. */
export { TaskRegistry } from "./services/TaskRegistry.js"
export type {
  /** Filter for `TaskRegistry.list`. */
  ListFilter,
  /** One change from `TaskRegistry.events`: a record that changed, or one evicted (by age or cap) with its tombstone. */
  RegistryEvent,
  /** Counts from `TaskRegistry.stats`. */
  RegistryStats,
  /** Options of `TaskRegistry.submit`: an idempotency key. */
  SubmitOptions
} from "./services/TaskRegistry.js"
/** A kind's handler as a layer (`TaskHandler.layer(kind, make)`), and what a handler is given. */
export * as TaskHandler from "./services/TaskHandler.js"
/** The workers' side of a store: claim, report, finish; and the error of a claim that no longer holds. */
export { ClaimLost, TaskQueue } from "./services/TaskQueue.js"

/** Issues task ids and recognises them later (`make(createdAt)`, `issuedAt(id)`), so that a store can answer 410. */
export { TaskIds } from "./services/TaskIds.js"
/** HMAC-signed task ids: `layer(key)`, `layerEphemeral`, `layerConfig` (`TASK_ID_SECRET`, else ephemeral). */
export * as TaskIdsHmac from "./layers/ids/TaskIdsHmac.js"

/** The registry's configuration service: `layer(config)` in code, `layerConfig` (`TASK_*` variables), `defaults`. */
export * as RegistryConfig from "./services/RegistryConfig.js"

/**
 * The in-memory registry: `layer` (with its sweep fiber; needs a `RegistryConfig`), `layerWithTaskIds` (ids from the
 * `TaskIds` you provide, such as a key that outlives the process), `layerConfig` (the `TASK_*` variables and
 * `TASK_ID_SECRET`, from the `ConfigProvider`).
 */
export * as TaskRegistryMemory from "./layers/registry/TaskRegistryMemory.js"
/** `RegistryConfig.concurrency` (`TASK_CONCURRENCY`) workers for the given kinds: `TaskWorkers.layer(kindA, kindB)`. */
export * as TaskWorkers from "./layers/registry/TaskWorkers.js"
/** The periodic sweep fiber, for any `TaskRegistry`. */
export * as Sweeper from "./layers/registry/Sweeper.js"
