import { Worker } from "@effect/platform"
import type { WorkerError } from "@effect/platform/WorkerError"
import { isWorkerError } from "@effect/platform/WorkerError"
import type { Duration } from "effect"
import {
  Cause,
  Data,
  Deferred,
  Effect,
  ExecutionStrategy,
  Exit,
  Fiber,
  MutableRef,
  Option,
  Queue,
  Ref,
  Scope
} from "effect"
import * as WorkerThreads from "node:worker_threads"

/** The engine did not answer within the request's deadline. Its thread has been terminated. */
export class EngineTimeout extends Data.TaggedError("EngineTimeout")<{ readonly deadline: Duration.Duration }> {}

/** The engine thread crashed, exited or threw while working on the request. It has been terminated. */
export class EngineCrash extends Data.TaggedError("EngineCrash")<{ readonly reason: string }> {}

/** No engine thread could be started to work on the request. */
export class EngineUnavailable extends Data.TaggedError("EngineUnavailable")<{ readonly reason: string }> {}

export interface EngineThreadsOptions {
  /** The worker script: a `WorkerRunner` that answers one request at a time. */
  readonly workerUrl: URL
  /** Threads at most, each working on one request at a time; at least 1. */
  readonly threads: number
  /** How long a thread may take to become ready. */
  readonly startTimeout: Duration.DurationInput
}

/** A running thread: what it answers, and how to stop it. */
interface Thread<I, O, E> {
  readonly execute: (request: I) => Effect.Effect<O, E | WorkerError>
  /** Terminates the thread at once: a thread stuck in a loop never reads a polite request to close. */
  readonly kill: Effect.Effect<void>
}

/** A place for one thread; empty until first used, and again after its thread was killed. */
type Slot<I, O, E> = Ref.Ref<Option.Option<Thread<I, O, E>>>

/** What went wrong, in words: the platform's own message for a worker failure is only "An unexpected error". */
const reasonOf = (u: unknown): string => {
  const inner = isWorkerError(u) ? u.cause : u
  return inner instanceof Error ? inner.message : isWorkerError(u) ? u.message : String(u)
}

/**
 * Worker threads that each run one request at a time, with a deadline per request. A thread that misses its
 * deadline, crashes, exits or throws is terminated (`worker.terminate()`, which stops even a thread stuck in a loop)
 * and its slot starts a new one when it is next used; so does a thread whose request was interrupted, as it may go
 * on working for as long as its deadline and the next request would be charged for it. @effect/platform's worker
 * pool cannot terminate one worker at once (it asks the worker to close, and kills it only 5 s later), so each
 * thread here is a single platform worker in a scope of its own. Every thread is terminated with the caller's scope.
 */
export const make = <I, O, E>(options: EngineThreadsOptions) =>
  Effect.gen(function* () {
    const manager = yield* Worker.WorkerManager
    const parent = yield* Effect.scope

    const start = (slot: Slot<I, O, E>) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function* () {
          const scope = yield* Scope.fork(parent, ExecutionStrategy.sequential)
          // The platform spawns through this function, and again by itself after a crash while idle: the thread to
          // terminate is always the latest one.
          const current = MutableRef.make<WorkerThreads.Worker | undefined>(undefined)
          const endedEarly = yield* Deferred.make<never, EngineUnavailable>()
          const spawn = () => {
            const worker = new WorkerThreads.Worker(options.workerUrl)
            MutableRef.set(current, worker)
            const fail = (reason: string) =>
              Deferred.unsafeDone(endedEarly, Exit.fail(new EngineUnavailable({ reason })))
            worker.once("error", (error) => fail(error.message))
            worker.once("exit", (code) => fail(`its thread exited with code ${code}`))
            return worker
          }
          const kill = Effect.gen(function* () {
            // Closing first stops the platform from respawning the thread when it sees the exit.
            const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
            const worker = MutableRef.get(current)
            if (worker !== undefined) yield* Effect.ignore(Effect.tryPromise(() => worker.terminate()))
            yield* Fiber.join(closing)
          }).pipe(Effect.uninterruptible)
          const worker = yield* restore(
            manager.spawn<I, O, E>({}).pipe(
              Effect.provideService(Worker.Spawner, spawn),
              Scope.extend(scope),
              Effect.mapError((error) => new EngineUnavailable({ reason: reasonOf(error) })),
              // Without this, a thread that dies while starting is respawned by the platform, every second, forever.
              Effect.raceFirst(Deferred.await(endedEarly)),
              Effect.timeoutFail({
                duration: options.startTimeout,
                onTimeout: () => new EngineUnavailable({ reason: "it did not become ready in time" })
              })
            )
          ).pipe(Effect.onError(() => kill))
          const thread: Thread<I, O, E> = { execute: worker.executeEffect, kill }
          yield* Ref.set(slot, Option.some(thread))
          return thread
        })
      )

    const retire = (slot: Slot<I, O, E>, thread: Thread<I, O, E>) =>
      Effect.uninterruptible(Effect.zipRight(Ref.set(slot, Option.none()), thread.kill))

    /** What ended a request other than its own answer or refusal: the thread is no longer to be trusted. */
    const classify = (
      cause: Cause.Cause<E | WorkerError | EngineTimeout>
    ): Effect.Effect<never, E | EngineTimeout | EngineCrash> =>
      Option.match(Cause.failureOption(cause), {
        onSome: (error) =>
          isWorkerError(error) ? Effect.fail(new EngineCrash({ reason: reasonOf(error) })) : Effect.fail(error),
        onNone: () =>
          Effect.fail(
            new EngineCrash({
              reason: Option.match(Cause.dieOption(cause), {
                onSome: reasonOf,
                onNone: () => "it stopped without an answer"
              })
            })
          )
      })

    const slots = yield* Queue.unbounded<Slot<I, O, E>>()
    const empty = Ref.make(Option.none<Thread<I, O, E>>())
    yield* Queue.offerAll(slots, yield* Effect.replicateEffect(empty, Math.max(1, options.threads)))

    /** Runs `use` on a slot of its own, waiting for one to be free, and gives the slot back however `use` ends. */
    const withSlot = <A, E2>(use: (slot: Slot<I, O, E>) => Effect.Effect<A, E2>) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(Queue.take(slots)), (slot) =>
          restore(use(slot)).pipe(Effect.ensuring(Queue.offer(slots, slot)))
        )
      )

    /**
     * Sends `request` to a free thread and answers its reply, or the worker's own failure `E` (the thread stays),
     * or `EngineTimeout` / `EngineCrash` (the thread has been terminated), or `EngineUnavailable`. Time spent
     * waiting for a free thread, or for a new one to start, does not count against `deadline`.
     */
    const execute = (request: I, deadline: Duration.Duration) =>
      withSlot((slot) =>
        Effect.gen(function* () {
          const thread = yield* Option.match(yield* Ref.get(slot), {
            onNone: () => start(slot),
            onSome: Effect.succeed
          })
          return yield* thread.execute(request).pipe(
            Effect.timeoutFail({ duration: deadline, onTimeout: () => new EngineTimeout({ deadline }) }),
            Effect.catchAllCause(classify),
            Effect.tapError((error) =>
              error instanceof EngineTimeout || error instanceof EngineCrash ? retire(slot, thread) : Effect.void
            ),
            Effect.onInterrupt(() => retire(slot, thread))
          )
        })
      )

    return { execute }
  })
