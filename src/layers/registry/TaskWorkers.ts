import { Cause, Deferred, Effect, Fiber, Layer, Option, Schedule } from "effect"
import type { RegistryUnavailable } from "../../domain/Errors.js"
import type { ProgressReport, RunOutcome } from "../../domain/Outcome.js"
import { outcomeOf } from "../../domain/Outcome.js"
import type { Processing } from "../../domain/Task.js"
import { invalidName } from "../../domain/TaskKind.js"
import { RegistryConfig } from "../../services/RegistryConfig.js"
import type { RunnableHandler, TaskHandler, TaskProgress } from "../../services/TaskHandler.js"
import * as Handlers from "../../services/TaskHandler.js"
import { TaskQueue } from "../../services/TaskQueue.js"
import * as Loops from "./Loops.js"

/** How a worker retries a store it cannot reach: quickly at first, then every few seconds. */
const untilReachable = Schedule.exponential("100 millis").pipe(Schedule.union(Schedule.spaced("5 seconds")))

const isUnavailable = (e: { readonly _tag: string }): e is RegistryUnavailable => e._tag === "RegistryUnavailable"

/**
 * `TASK_CONCURRENCY` worker fibers, forked in the layer's scope, that run tasks of the given kinds with the
 * handlers provided for them. Each claims the oldest PENDING task in one atomic step, runs its handler, reports
 * progress against the claim, and records how the run ended. A cancelled task's handler is interrupted at once:
 * when the store says the claim is lost, or when a report is refused. Closing the scope stops every worker; their
 * tasks end as the store decides for a shutdown (CANCELLED in memory).
 */
export const make = <const Name extends string>(kinds: ReadonlyArray<{ readonly name: Name }>) =>
  Effect.gen(function* () {
    const { concurrency } = yield* RegistryConfig
    const queue = yield* TaskQueue
    const handlers = new Map<string, RunnableHandler>()
    for (const { name } of kinds) {
      const invalid = invalidName(name)
      if (invalid !== undefined) return yield* Effect.dieMessage(invalid)
      handlers.set(name, yield* Handlers.tag(name))
    }
    const names = [...handlers.keys()]

    /**
     * Retries a step that could not reach the store. Only a failure pays for the schedule (a report is on the path
     * of every unit of progress), and every wait is interruptible, so that a process whose store is gone still
     * stops when told to.
     */
    const retrying = <A, E extends { readonly _tag: string }>(
      step: Effect.Effect<A, E>,
      unavailable: RegistryUnavailable
    ) =>
      Effect.logWarning(`Retrying until the task store answers: ${unavailable.message}`).pipe(
        Effect.zipRight(Effect.interruptible(Effect.retry(step, { schedule: untilReachable, while: isUnavailable })))
      )
    const persist = <A, E extends { readonly _tag: string }>(step: Effect.Effect<A, E>) =>
      Effect.catchIf(step, isUnavailable, (unavailable) => retrying(step, unavailable))

    const run = (claim: Processing, restore: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
      Effect.gen(function* () {
        const running = yield* Deferred.make<Fiber.RuntimeFiber<void, unknown>>()
        const stop = Effect.flatMap(Deferred.await(running), Fiber.interruptFork)
        // A refused report means the claim is lost: the handler stops at once, from whichever fiber reported. Each
        // report is numbered when it is made, so that a retry of it (its answer never came) is applied once.
        let reports = 0
        const refused = Effect.zipRight(stop, Effect.interrupt)
        const report = (progress: ProgressReport) =>
          Effect.suspend(() => {
            const step = queue.report(claim, ++reports, progress)
            return Effect.catchAll(step, (e) =>
              isUnavailable(e) ? Effect.catchAll(retrying(step, e), () => refused) : refused
            )
          })
        const progress: TaskProgress = {
          taskId: claim.id,
          attempt: claim.attempts,
          segmentDone: (segment) => report({ _tag: "SegmentDone", segment }),
          segmentFailed: (error) => report({ _tag: "SegmentFailed", error })
        }
        const handler = handlers.get(claim.kind)
        const fiber = yield* Effect.fork(
          restore(
            handler === undefined
              ? Effect.dieMessage(`No handler for tasks of kind ${claim.kind}`)
              : handler.run(claim.payload, progress)
          )
        )
        yield* Deferred.succeed(running, fiber)
        const unwatch = yield* queue.onLost(claim, stop)
        const waited = yield* Effect.exit(restore(Fiber.await(fiber)))
        yield* unwatch
        // The worker itself being interrupted means its process is stopping; the handler's own end, if it got there
        // first, is still what happened to the task.
        const exit = waited._tag === "Success" ? waited.value : yield* Fiber.interrupt(fiber)
        const stopped = waited._tag === "Failure" && exit._tag === "Failure" && Cause.isInterruptedOnly(exit.cause)
        const outcome: RunOutcome = stopped ? { _tag: "Shutdown" } : outcomeOf(exit)
        if (outcome._tag === "Failed" && exit._tag === "Failure") {
          yield* Effect.logWarning("Task ended with an error", exit.cause)
        }
        // A lost claim means the task was cancelled meanwhile: its record is already final.
        yield* persist(queue.finish(claim, outcome)).pipe(Effect.catchTag("ClaimLost", () => Effect.void))
      }).pipe(Effect.annotateLogs({ taskId: claim.id, kind: claim.kind }))

    const worker = Effect.gen(function* () {
      const waitForWork = yield* queue.subscribeWork(names)
      // A claimed task is always run and recorded: the claim and what follows it are one uninterruptible region,
      // in which only the handler itself, the wait for work and the waits between retries can be interrupted.
      // The token is made once per claim, so that a claim retried after its answer was lost gets the same task.
      const next = Effect.uninterruptibleMask((restore) =>
        Effect.suspend(() => persist(queue.claim(names, crypto.randomUUID()))).pipe(
          Effect.tap(() => loop.healthy),
          Effect.flatMap(
            Option.match({
              onNone: () => restore(waitForWork),
              onSome: (claim) => run(claim, restore)
            })
          )
        )
      )
      // A defect outside any handler costs the task it happened on, not the worker; the workers' claims that keep
      // failing are tried again less and less often, logged once per streak.
      return yield* Effect.forever(loop.retrying(next))
    }).pipe(Effect.scoped)

    if (names.length === 0) return
    const loop = yield* Loops.make("The workers")
    for (let i = 0; i < concurrency; i++) yield* Effect.forkScoped(worker)
  })

/**
 * Workers for the given kinds; each kind's handler must be provided (`TaskHandler.layer(kind, make)`), and the
 * store's `TaskQueue` side (`TaskRegistryMemory.layer`, or a shared store).
 */
export const layer = <const Name extends string>(
  ...kinds: ReadonlyArray<{ readonly name: Name }>
): Layer.Layer<never, never, TaskQueue | RegistryConfig | TaskHandler<Name>> => Layer.scopedDiscard(make(kinds))
