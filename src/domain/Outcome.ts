import type { Exit } from "effect"
import { Cause, Either, Inspectable, Option, Predicate } from "effect"
import type { FinishedTask, InvalidTransition, Task } from "./Task.js"
import { cancel, complete, fail } from "./Task.js"

const messageOf = (u: unknown): string =>
  typeof u === "string"
    ? u
    : Predicate.hasProperty(u, "message") && typeof u.message === "string"
      ? u.message
      : Inspectable.format(u)

/**
 * The move that records how a task's fiber ended, whatever ended it: success completes the task, an interruption
 * cancels it, a failure or a defect fails it with its message. A task whose fiber ended before it had started is
 * cancelled, so that no record stays active once its fiber is gone.
 */
export const settle =
  (exit: Exit.Exit<unknown, unknown>, now: number) =>
  (task: Task): Either.Either<FinishedTask, InvalidTransition> => {
    const outcome: Either.Either<FinishedTask, InvalidTransition> =
      exit._tag === "Success"
        ? complete(now)(task)
        : Cause.isInterruptedOnly(exit.cause)
          ? cancel(now, "Interrupted before it finished (the registry shut down)")(task)
          : fail(
              now,
              Option.isSome(Cause.failureOption(exit.cause))
                ? `Task failed: ${messageOf(Cause.squash(exit.cause))}`
                : `Task died unexpectedly: ${messageOf(Cause.squash(exit.cause))}`
            )(task)
    return Either.orElse(outcome, () => cancel(now, "Ended before it could start")(task))
  }
