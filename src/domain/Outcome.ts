import type { Exit } from "effect"
import { Cause, Either, Inspectable, Option, Predicate, Schema } from "effect"
import type { FinishedTask, InvalidTransition, Task } from "./Task.js"
import { CompletedSegment, SegmentError, cancel, complete, fail, segmentDone, segmentFailed } from "./Task.js"

/** One unit of progress, as a worker reports it against its claim: data, so that any store can apply it. */
export const ProgressReport = Schema.Union(
  Schema.TaggedStruct("SegmentDone", { segment: CompletedSegment }),
  Schema.TaggedStruct("SegmentFailed", { error: SegmentError })
)
export type ProgressReport = typeof ProgressReport.Type

/** The move a progress report makes. */
export const applyReport =
  (report: ProgressReport) =>
  (task: Task): Either.Either<Task, InvalidTransition> =>
    report._tag === "SegmentDone" ? segmentDone(report.segment)(task) : segmentFailed(report.error)(task)

/** How a handler's run ended, as data: what a worker tells the store when it finishes a claim. */
export const RunOutcome = Schema.Union(
  Schema.TaggedStruct("Succeeded", {}),
  Schema.TaggedStruct("Failed", { message: Schema.String }),
  Schema.TaggedStruct("Interrupted", {}),
  // The worker itself was stopped (its process is shutting down): a shared store hands the task to another worker.
  Schema.TaggedStruct("Shutdown", {})
)
export type RunOutcome = typeof RunOutcome.Type

const messageOf = (u: unknown): string =>
  typeof u === "string"
    ? u
    : Predicate.hasProperty(u, "message") && typeof u.message === "string"
      ? u.message
      : Inspectable.format(u)

/**
 * How a run's exit reads as an outcome, whatever ended it: success, an interruption alone, or a failure or defect
 * with its message (an interruption mixed with a failure is a failure).
 */
export const outcomeOf = (exit: Exit.Exit<unknown, unknown>): RunOutcome =>
  exit._tag === "Success"
    ? { _tag: "Succeeded" }
    : Cause.isInterruptedOnly(exit.cause)
      ? { _tag: "Interrupted" }
      : {
          _tag: "Failed",
          message: Option.isSome(Cause.failureOption(exit.cause))
            ? `Task failed: ${messageOf(Cause.squash(exit.cause))}`
            : `Task died unexpectedly: ${messageOf(Cause.squash(exit.cause))}`
        }

/** Why a task whose handler was interrupted ends CANCELLED. */
export const INTERRUPTED = "Interrupted before it finished"

/** Why a task ends CANCELLED when its worker stops, in a store that cannot hand it to another process. */
export const SHUT_DOWN = "Interrupted before it finished: the server shut down"

/**
 * The move that records a run's outcome on its task: success completes it (FAILED if every segment failed), a
 * failure fails it with its message, an interruption or a shutdown cancels it. Only a PROCESSING task can be
 * settled. (A store shared by several processes hands a task back on `Shutdown` instead.)
 */
export const settle =
  (outcome: RunOutcome, now: number) =>
  (task: Task): Either.Either<FinishedTask, InvalidTransition> => {
    switch (outcome._tag) {
      case "Succeeded":
        return complete(now)(task)
      case "Failed":
        return fail(now, outcome.message)(task)
      case "Interrupted":
        return cancel(now, INTERRUPTED)(task)
      case "Shutdown":
        return cancel(now, SHUT_DOWN)(task)
    }
  }
