import type { Schema } from "effect"

/**
 * A kind of task: a name, a payload schema whose encoded form is JSON, and how many units of progress a payload
 * makes. A task is data (its kind's name and its encoded payload), so that any process that has a handler for the
 * kind can run it; submitting needs only the kind, running needs a handler (see `TaskHandler`).
 */
export interface TaskKind<Name extends string, A, I = unknown> {
  readonly name: Name
  readonly payload: Schema.Schema<A, I>
  /** Units of progress (segments) the task reports, one `segmentDone` or `segmentFailed` each. */
  readonly total: (payload: A) => number
  /**
   * How much work a payload is, for admission: unfinished tasks may hold at most `TASK_MAX_PENDING_WORK` of it
   * in all (narration counts characters). Its `total` when absent.
   */
  readonly weight?: ((payload: A) => number) | undefined
}

export const make = <const Name extends string, A, I>(options: {
  readonly name: Name
  readonly payload: Schema.Schema<A, I>
  readonly total: (payload: A) => number
  readonly weight?: ((payload: A) => number) | undefined
}): TaskKind<Name, A, I> => options

/** How much work `payload` is. */
export const weightOf = <Name extends string, A, I>(kind: TaskKind<Name, A, I>, payload: A): number =>
  kind.weight === undefined ? kind.total(payload) : kind.weight(payload)
