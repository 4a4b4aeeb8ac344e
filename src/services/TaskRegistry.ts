import type { Effect } from "effect"
import { Context } from "effect"
import type { RegistryFull, TaskAlreadyFinished, TaskExpired, TaskNotFound } from "../domain/Errors.js"
import type { CompletedSegment, SegmentError, Task, TaskStatus } from "../domain/Task.js"
import type { TaskId } from "../domain/TaskId.js"

/** What a running job is told (its task's id) and reports, one call per segment processed. */
export interface JobProgress {
  readonly taskId: TaskId
  readonly segmentDone: (segment: CompletedSegment) => Effect.Effect<void>
  readonly segmentFailed: (error: SegmentError) => Effect.Effect<void>
}

/**
 * Work to run in the background: `total` segments, processed by `run`. A failure or defect of `run` ends the task
 * FAILED with its message; an interruption ends it CANCELLED.
 */
export interface Job {
  readonly total: number
  readonly run: (progress: JobProgress) => Effect.Effect<void, unknown>
}

export interface ListFilter {
  /** Only tasks in this status. */
  readonly status?: TaskStatus | undefined
  /** At most this many tasks. */
  readonly limit?: number | undefined
}

export interface RegistryStats {
  readonly pending: number
  readonly processing: number
  readonly finished: number
  readonly tombstones: number
}

/** Runs background tasks and keeps their records, evicting finished ones so that memory stays bounded. */
export class TaskRegistry extends Context.Tag("storyflow/TaskRegistry")<
  TaskRegistry,
  {
    /** Accepts a job and answers its PENDING record at once; the job runs when a worker slot is free. */
    readonly submit: (job: Job) => Effect.Effect<Task, RegistryFull>
    /** The task's current record; `TaskExpired` once it is past the retention period, swept or not. */
    readonly get: (id: TaskId) => Effect.Effect<Task, TaskNotFound | TaskExpired>
    /** Live records, newest first. */
    readonly list: (filter: ListFilter) => Effect.Effect<ReadonlyArray<Task>>
    /** Cancels a PENDING or PROCESSING task (interrupting its run) and answers its CANCELLED record. */
    readonly cancel: (id: TaskId) => Effect.Effect<Task, TaskNotFound | TaskExpired | TaskAlreadyFinished>
    /** Evicts what is due now and answers how many records it removed. */
    readonly sweep: Effect.Effect<number>
    /** Counts of what the registry holds right now. */
    readonly stats: Effect.Effect<RegistryStats>
  }
>() {}
