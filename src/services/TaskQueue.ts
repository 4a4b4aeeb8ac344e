import type { Effect, Option, Scope } from "effect"
import { Context, Data } from "effect"
import type { RegistryUnavailable } from "../domain/Errors.js"
import type { ProgressReport, RunOutcome } from "../domain/Outcome.js"
import type { Processing } from "../domain/Task.js"

/** The claim a report or a finish was made against is no longer current: the task was cancelled, or handed on. */
export class ClaimLost extends Data.TaggedError("ClaimLost")<{ readonly taskId: string }> {}

/**
 * The workers' side of a task store: claim the oldest PENDING task of the kinds a worker handles, report progress
 * against the claim, and finish it. Each is one atomic step on the store.
 */
export class TaskQueue extends Context.Tag("storyflow/TaskQueue")<
  TaskQueue,
  {
    /**
     * Claims the oldest PENDING task whose kind is in `kinds` (PENDING → PROCESSING under `token`, a claim token the
     * caller makes). A claim retried with the same token (its first answer never came) answers the task that the
     * first try claimed, if it did, at no further attempt.
     */
    readonly claim: (
      kinds: ReadonlyArray<string>,
      token: string
    ) => Effect.Effect<Option.Option<Processing>, RegistryUnavailable>
    /**
     * Records one unit of progress, if `claim` is still the task's current claim. `n` numbers the report among
     * those made under the claim, from 1: a report retried with the same number is applied once.
     */
    readonly report: (
      claim: Processing,
      n: number,
      report: ProgressReport
    ) => Effect.Effect<void, ClaimLost | RegistryUnavailable>
    /** Records how the run ended, if `claim` is still current; a finish retried changes nothing more. */
    readonly finish: (claim: Processing, outcome: RunOutcome) => Effect.Effect<void, ClaimLost | RegistryUnavailable>
    /**
     * Runs `stop` as soon as `claim` is no longer current (the task was cancelled, whichever process cancelled it),
     * at once if it already is not. Answers the effect that ends the watch, which the worker runs once its handler
     * has ended.
     */
    readonly onLost: (claim: Processing, stop: Effect.Effect<void>) => Effect.Effect<Effect.Effect<void>>
    /**
     * A wait for work, made once per worker, for a worker that claims tasks of `kinds`: the effect it answers
     * completes when a task of those kinds may be waiting, so that a worker sleeps while there is nothing to do. The
     * worker claims after each wait, and waits after each claim that found nothing. A task that starts waiting wakes
     * at most one idle worker that runs its kind (never one that does not), and none is missed: a task that starts
     * waiting between a worker's claim that found nothing and its next wait ends that wait at once.
     */
    readonly subscribeWork: (kinds: ReadonlyArray<string>) => Effect.Effect<Effect.Effect<void>, never, Scope.Scope>
  }
>() {}
