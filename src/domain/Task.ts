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
  total: Schema.NonNegativeInt,
  createdAt: EpochMillis
}

const outcomes = {
  completedSegments: Schema.Array(CompletedSegment),
  errors: Schema.Array(SegmentError)
}

const started = { ...common, ...outcomes, startedAt: EpochMillis }

/** Submitted, waiting for a worker slot. */
export class Pending extends Schema.TaggedClass<Pending>()("PENDING", common) {}

/** Running; segments are being reported as they finish. */
export class Processing extends Schema.TaggedClass<Processing>()("PROCESSING", started) {}

/** The run ended normally and at least one segment (or none, for an empty job) succeeded. */
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
  startedAt: Schema.OptionFromSelf(EpochMillis),
  completedAt: EpochMillis,
  reason: Schema.String
}) {}

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

/** Processed segments (succeeded + failed) against the total; an empty job counts as done once finished. */
export const progress = (task: Task): Progress => {
  const current = task._tag === "PENDING" ? 0 : task.completedSegments.length + task.errors.length
  const percentage = task.total === 0 ? (isFinished(task) ? 100 : 0) : Math.floor((current * 100) / task.total)
  return { current, total: task.total, percentage }
}

// Transitions build new values from values that were already validated, so they skip re-validation: it would
// re-check every recorded segment on every update of a 500-segment task.
const trusted = { disableValidation: true } as const

/** A state's fields without its tag, to build the next state from. */
const fieldsOf = <T extends { readonly _tag: string }>(task: T): Omit<T, "_tag"> => {
  const { _tag: _, ...fields } = task
  return fields
}

const refuse = (task: Task, action: string) => Either.left(new InvalidTransition({ from: task._tag, action }))

export const start =
  (now: number) =>
  (task: Task): Either.Either<Processing, InvalidTransition> =>
    task._tag === "PENDING"
      ? Either.right(new Processing({ ...fieldsOf(task), startedAt: now, completedSegments: [], errors: [] }, trusted))
      : refuse(task, "start")

const recordable = (task: Task, action: string): Either.Either<Processing, InvalidTransition> =>
  task._tag === "PROCESSING" && progress(task).current < task.total ? Either.right(task) : refuse(task, action)

export const segmentDone =
  (segment: CompletedSegment) =>
  (task: Task): Either.Either<Processing, InvalidTransition> =>
    Either.map(
      recordable(task, "record a segment of"),
      (t) => new Processing({ ...fieldsOf(t), completedSegments: [...t.completedSegments, segment] }, trusted)
    )

export const segmentFailed =
  (error: SegmentError) =>
  (task: Task): Either.Either<Processing, InvalidTransition> =>
    Either.map(
      recordable(task, "record a segment error of"),
      (t) => new Processing({ ...fieldsOf(t), errors: [...t.errors, error] }, trusted)
    )

/** The run ended normally: COMPLETED, unless there were segments and every one of them failed. */
export const complete =
  (now: number) =>
  (task: Task): Either.Either<Completed | Failed, InvalidTransition> => {
    if (task._tag !== "PROCESSING") return refuse(task, "complete")
    const fields = fieldsOf(task)
    return Either.right(
      task.total > 0 && task.errors.length === task.total
        ? new Failed({ ...fields, completedAt: now, error: `All ${task.total} segment(s) failed` }, trusted)
        : new Completed({ ...fields, completedAt: now }, trusted)
    )
  }

export const fail =
  (now: number, error: string) =>
  (task: Task): Either.Either<Failed, InvalidTransition> => {
    if (task._tag !== "PROCESSING") return refuse(task, "fail")
    return Either.right(new Failed({ ...fieldsOf(task), completedAt: now, error }, trusted))
  }

export const cancel =
  (now: number, reason: string) =>
  (task: Task): Either.Either<Cancelled, InvalidTransition> => {
    switch (task._tag) {
      case "PENDING":
        return Either.right(
          new Cancelled(
            {
              ...fieldsOf(task),
              completedSegments: [],
              errors: [],
              startedAt: Option.none(),
              completedAt: now,
              reason
            },
            trusted
          )
        )
      case "PROCESSING":
        return Either.right(
          new Cancelled(
            { ...fieldsOf(task), startedAt: Option.some(task.startedAt), completedAt: now, reason },
            trusted
          )
        )
      default:
        return refuse(task, "cancel")
    }
  }
