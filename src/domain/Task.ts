import { Data, Either, Option, Schema } from "effect"
import { TaskId } from "./TaskId.js"

/** Milliseconds since the Unix epoch, as `Clock.currentTimeMillis` reports them. */
export const EpochMillis = Schema.NonNegative.annotations({ identifier: "EpochMillis" })

export const TaskStatus = Schema.Literal("PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED")
export type TaskStatus = typeof TaskStatus.Type

export const FinishedStatus = Schema.Literal("COMPLETED", "FAILED", "CANCELLED")
export type FinishedStatus = typeof FinishedStatus.Type

export class CompletedSegment extends Schema.Class<CompletedSegment>("CompletedSegment")({
  segmentId: Schema.String,
  audioUrl: Schema.String,
  durationSeconds: Schema.NonNegative
}) {}

export class SegmentError extends Schema.Class<SegmentError>("SegmentError")({
  segmentId: Schema.String,
  message: Schema.String
}) {}

const common = {
  id: TaskId,
  /** The name of the task's kind, which says which handler runs it. */
  kind: Schema.String,
  total: Schema.NonNegativeInt,
  createdAt: EpochMillis,
  /** Grows by one with every change of the record, starting at 1. */
  version: Schema.Int.pipe(Schema.positive())
}

/**
 * What an active task still needs to run: its payload in the kind's encoded (JSON) form, claims so far, and how
 * much work it is (its kind's weight), which it holds against the registry's admission limit while active.
 */
const work = {
  payload: Schema.Unknown,
  attempts: Schema.NonNegativeInt,
  weight: Schema.NonNegativeInt
}

const outcomes = {
  completedSegments: Schema.Array(CompletedSegment),
  errors: Schema.Array(SegmentError)
}

const started = { ...common, ...outcomes, startedAt: EpochMillis }

/** Submitted, waiting for a worker to claim it. */
export class Pending extends Schema.TaggedClass<Pending>()("PENDING", { ...common, ...work }) {}

/** Claimed by a worker and running; `claim` is the token its progress reports must carry. */
export class Processing extends Schema.TaggedClass<Processing>()("PROCESSING", {
  ...started,
  ...work,
  claim: Schema.String
}) {}

/** The run ended normally and at least one segment (or none, for an empty task) succeeded. */
export class Completed extends Schema.TaggedClass<Completed>()("COMPLETED", {
  ...started,
  completedAt: EpochMillis
}) {}

/** The run failed or died, or every segment failed. */
export class Failed extends Schema.TaggedClass<Failed>()("FAILED", {
  ...started,
  completedAt: EpochMillis,
  error: Schema.String
}) {}

/** Cancelled on request or interrupted; `startedAt` is none when it never left PENDING. */
export class Cancelled extends Schema.TaggedClass<Cancelled>()("CANCELLED", {
  ...common,
  ...outcomes,
  // Absent from the encoded record when it never started, so that the encoded form is plain JSON.
  startedAt: Schema.optionalWith(EpochMillis, { as: "Option" }),
  completedAt: EpochMillis,
  reason: Schema.String
}) {}

// Finished records drop their payload: it is only needed to run the task, and a retained record must stay small.
export const Task = Schema.Union(Pending, Processing, Completed, Failed, Cancelled)
export type Task = typeof Task.Type
export type ActiveTask = Pending | Processing
export type FinishedTask = Completed | Failed | Cancelled

export const isFinished = (task: Task): task is FinishedTask =>
  task._tag === "COMPLETED" || task._tag === "FAILED" || task._tag === "CANCELLED"

export const isActive = (task: Task): task is ActiveTask => !isFinished(task)

/** A move the state machine does not allow, such as starting a finished task. */
export class InvalidTransition extends Data.TaggedError("InvalidTransition")<{
  readonly from: TaskStatus
  readonly action: string
}> {
  override get message() {
    return `cannot ${this.action} a ${this.from} task`
  }
}

export interface Progress {
  readonly current: number
  readonly total: number
  readonly percentage: number
}

/** Processed segments (succeeded + failed) against the total; an empty task counts as done once finished. */
export const progress = (task: Task): Progress => {
  const current = task._tag === "PENDING" ? 0 : task.completedSegments.length + task.errors.length
  const percentage = task.total === 0 ? (isFinished(task) ? 100 : 0) : Math.floor((current * 100) / task.total)
  return { current, total: task.total, percentage }
}

// Transitions build new values from values that were already validated, so they skip re-validation: it would
// re-check every recorded segment on every update of a 500-segment task.
const trusted = { disableValidation: true } as const

/** A new PENDING record, at version 1. */
export const pending = (fields: {
  readonly id: TaskId
  readonly kind: string
  readonly payload: unknown
  readonly total: number
  readonly weight?: number
  readonly createdAt: number
}): Pending => new Pending({ weight: fields.total, ...fields, version: 1, attempts: 0 }, trusted)

/** The fields every state shares, moved on by one version. */
const next = (task: Task) => ({
  id: task.id,
  kind: task.kind,
  total: task.total,
  createdAt: task.createdAt,
  version: task.version + 1
})

const refuse = (task: Task, action: string) => Either.left(new InvalidTransition({ from: task._tag, action }))

/** A worker claims the task with `claim`, a token that its progress reports must carry. */
export const start =
  (now: number, claim: string) =>
  (task: Task): Either.Either<Processing, InvalidTransition> =>
    task._tag === "PENDING"
      ? Either.right(
          new Processing(
            {
              ...next(task),
              payload: task.payload,
              attempts: task.attempts + 1,
              weight: task.weight,
              claim,
              startedAt: now,
              completedSegments: [],
              errors: []
            },
            trusted
          )
        )
      : refuse(task, "start")

const recordable = (task: Task, action: string): Either.Either<Processing, InvalidTransition> =>
  task._tag === "PROCESSING" && progress(task).current < task.total ? Either.right(task) : refuse(task, action)

/** A state's fields without its tag, to build the next state from. */
const fieldsOf = <T extends { readonly _tag: string }>(task: T): Omit<T, "_tag"> => {
  const { _tag: _, ...fields } = task
  return fields
}

const running = (
  task: Processing,
  changes: Pick<Processing, "completedSegments"> | Pick<Processing, "errors">
): Processing => new Processing({ ...fieldsOf(task), ...next(task), ...changes }, trusted)

export const segmentDone =
  (segment: CompletedSegment) =>
  (task: Task): Either.Either<Processing, InvalidTransition> =>
    Either.map(recordable(task, "record a segment of"), (t) =>
      running(t, { completedSegments: [...t.completedSegments, segment] })
    )

export const segmentFailed =
  (error: SegmentError) =>
  (task: Task): Either.Either<Processing, InvalidTransition> =>
    Either.map(recordable(task, "record a segment error of"), (t) => running(t, { errors: [...t.errors, error] }))

/** What a finished record keeps of a run: its progress and times, not its payload or claim. */
const result = (task: Processing) => ({
  ...next(task),
  startedAt: task.startedAt,
  completedSegments: task.completedSegments,
  errors: task.errors
})

/** The run ended normally: COMPLETED, unless there were segments and every one of them failed. */
export const complete =
  (now: number) =>
  (task: Task): Either.Either<Completed | Failed, InvalidTransition> => {
    if (task._tag !== "PROCESSING") return refuse(task, "complete")
    return Either.right(
      task.total > 0 && task.errors.length === task.total
        ? new Failed({ ...result(task), completedAt: now, error: `All ${task.total} segment(s) failed` }, trusted)
        : new Completed({ ...result(task), completedAt: now }, trusted)
    )
  }

export const fail =
  (now: number, error: string) =>
  (task: Task): Either.Either<Failed, InvalidTransition> =>
    task._tag === "PROCESSING"
      ? Either.right(new Failed({ ...result(task), completedAt: now, error }, trusted))
      : refuse(task, "fail")

export const cancel =
  (now: number, reason: string) =>
  (task: Task): Either.Either<Cancelled, InvalidTransition> => {
    switch (task._tag) {
      case "PENDING":
        return Either.right(
          new Cancelled(
            {
              ...next(task),
              completedSegments: [],
              errors: [],
              startedAt: Option.none(),
              completedAt: now,
              reason
            },
            trusted
          )
        )
      case "PROCESSING": {
        const { startedAt, ...rest } = result(task)
        return Either.right(
          new Cancelled({ ...rest, startedAt: Option.some(startedAt), completedAt: now, reason }, trusted)
        )
      }
      default:
        return refuse(task, "cancel")
    }
  }

/**
 * A worker gives a claimed task back (its process is shutting down), for another worker to run from the start. The
 * claim is not held against the task: its attempts go back to what they were before it.
 */
export const release =
  () =>
  (task: Task): Either.Either<Pending, InvalidTransition> =>
    task._tag === "PROCESSING"
      ? Either.right(
          new Pending(
            { ...next(task), payload: task.payload, attempts: Math.max(0, task.attempts - 1), weight: task.weight },
            trusted
          )
        )
      : refuse(task, "release")
