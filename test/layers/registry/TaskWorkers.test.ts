import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Context,
  Deferred,
  Effect,
  Either,
  Exit,
  Layer,
  LogLevel,
  Logger,
  Option,
  Queue,
  Ref,
  Schema,
  Scope,
  TestClock
} from "effect"
import { RegistryUnavailable } from "../../../src/domain/Errors.js"
import type { ProgressReport, RunOutcome } from "../../../src/domain/Outcome.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import * as Task from "../../../src/domain/Task.js"
import { CompletedSegment, SegmentError } from "../../../src/domain/Task.js"
import * as TaskKind from "../../../src/domain/TaskKind.js"
import * as TaskRegistryMemory from "../../../src/layers/registry/TaskRegistryMemory.js"
import * as TaskWorkers from "../../../src/layers/registry/TaskWorkers.js"
import * as RegistryConfig from "../../../src/services/RegistryConfig.js"
import * as TaskHandler from "../../../src/services/TaskHandler.js"
import { ClaimLost, TaskQueue } from "../../../src/services/TaskQueue.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import { logCapture } from "../../support/logs.js"
import { awaitStatus } from "../../support/registry.js"

const Kind = TaskKind.make({ name: "k", payload: Schema.Struct({}), total: () => 1 })
const segment = new CompletedSegment({ segmentId: "s1", audioUrl: "/a", durationSeconds: 0 })

/** Workers of `Kind`, with a handler that does nothing, on `queue`, configured by `config`. */
const noOpWorkersOn = (queue: typeof TaskQueue.Service, config: Parameters<typeof RegistryConfig.layer>[0] = {}) =>
  TaskWorkers.layer(Kind).pipe(
    Layer.provide(
      TaskHandler.layer(
        Kind,
        Effect.succeed(() => Effect.void)
      )
    ),
    Layer.provide(Layer.succeed(TaskQueue, queue)),
    Layer.provide(RegistryConfig.layer(config))
  )

/** Task `n` of `kind`, as a store answers a claim of it. */
const claimed = (n: number, kind: string) =>
  Either.getOrThrow(
    Task.start(
      1,
      `claim-${n}`
    )(
      Task.pending({
        id: TaskId.make(`00000000-0000-4000-8000-00000000000${n}`),
        kind,
        payload: {},
        total: 1,
        createdAt: 0
      })
    )
  )

/**
 * A store that answers claims with `tasks`, one each, then nothing (its wait for work never ends); reports as
 * `report` says; and records how each run finished in `finished`.
 */
const scriptedQueue = (
  tasks: ReadonlyArray<Task.Processing>,
  report: (n: number) => Effect.Effect<void, ClaimLost | RegistryUnavailable> = () => Effect.void
) =>
  Effect.gen(function* () {
    const waiting = yield* Ref.make(tasks)
    const finished = yield* Queue.unbounded<RunOutcome>()
    const reports: Array<readonly [number, ProgressReport]> = []
    const queue = TaskQueue.of({
      claim: () => Ref.modify(waiting, ([first, ...rest]) => [Option.fromNullable(first), rest] as const),
      report: (_, n, progress) =>
        Effect.suspend(() => {
          reports.push([n, progress])
          return report(n)
        }),
      finish: (_, outcome) => Queue.offer(finished, outcome),
      onLost: () => Effect.succeed(Effect.void),
      subscribeWork: () => Effect.succeed(Effect.never)
    })
    return { queue, finished, reports }
  })

/** Workers of `Kind` running `handler`, on `queue`, one at a time. */
const workersOn = (queue: typeof TaskQueue.Service, handler: TaskHandler.Handler<{}>) =>
  TaskWorkers.layer(Kind).pipe(
    Layer.provide(TaskHandler.layer(Kind, Effect.succeed(handler))),
    Layer.provide(Layer.succeed(TaskQueue, queue)),
    Layer.provide(RegistryConfig.layer({ concurrency: 1 }))
  )

describe("TaskWorkers", () => {
  it.live("stop when told to even while the store cannot be reached", () =>
    Effect.gen(function* () {
      const down = new RegistryUnavailable({ message: "down" })
      const unreachable = TaskQueue.of({
        claim: () => Effect.fail(down),
        report: () => Effect.fail(down),
        finish: () => Effect.fail(down),
        onLost: () => Effect.succeed(Effect.void),
        subscribeWork: () => Effect.succeed(Effect.never)
      })
      const scope = yield* Scope.make()
      yield* Layer.buildWithScope(noOpWorkersOn(unreachable), scope)
      // Let the workers fail a claim and start retrying.
      yield* Effect.sleep("200 millis")
      const closed = yield* Scope.close(scope, Exit.void).pipe(Effect.timeoutOption("3 seconds"))
      expect(Option.isSome(closed)).toBe(true)
    })
  )

  it.effect("record how a handler ended when it got there while its worker was being stopped", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>()
      const release = yield* Deferred.make<void>()
      // A handler in the middle of a step that cannot be cut (a file write), when the process is told to stop.
      const handler = TaskHandler.layer(
        Kind,
        Effect.succeed((_: {}, progress: TaskHandler.TaskProgress) =>
          Effect.uninterruptible(
            Effect.zipRight(
              Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(release)),
              progress.segmentDone(segment)
            )
          )
        )
      )
      const store = yield* Layer.build(TaskRegistryMemory.layer.pipe(Layer.provideMerge(RegistryConfig.layer({}))))
      const workers = yield* Scope.make()
      yield* Layer.buildWithScope(TaskWorkers.layer(Kind).pipe(Layer.provide(handler)), workers).pipe(
        Effect.provide(store)
      )
      const registry = yield* Effect.provide(TaskRegistry, store)
      const task = yield* registry.submit(Kind, {})
      yield* Deferred.await(started)
      const stopping = yield* Effect.fork(Scope.close(workers, Exit.void))
      yield* Deferred.succeed(release, undefined)
      yield* stopping.await
      expect(yield* awaitStatus(task.id, "COMPLETED").pipe(Effect.provide(store))).toMatchObject({
        completedSegments: [segment]
      })
    }).pipe(Effect.scoped)
  )

  it.effect("go on when their claim dies, trying less and less often, with one Warning, and recover", () => {
    const { layer, lines } = logCapture()
    return Effect.gen(function* () {
      const store = yield* Layer.build(
        TaskRegistryMemory.layer.pipe(Layer.provideMerge(RegistryConfig.layer({ concurrency: 4 })))
      )
      const queue = yield* Effect.provide(TaskQueue, store)
      // A store whose claim dies (on Redis, an error reply such as NOPERM is a defect), until it is mended.
      let broken = true
      let claims = 0
      const dying = TaskQueue.of({
        ...queue,
        claim: (kinds, token) =>
          Effect.suspend(() => {
            claims++
            return broken ? Effect.dieMessage("NOPERM this user has no permissions") : queue.claim(kinds, token)
          })
      })
      yield* Layer.build(noOpWorkersOn(dying, { concurrency: 4 }))
      const registry = yield* Effect.provide(TaskRegistry, store)
      const task = yield* registry.submit(Kind, {})
      // Each worker has tried once, and waits.
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      expect(claims).toBe(4)
      // Ten seconds of a dying claim: the four workers share one back-off (main: thousands of claims at once).
      const perSecond: Array<number> = []
      for (let s = 0; s < 10; s++) {
        const before = claims
        yield* TestClock.adjust("1 second")
        perSecond.push(claims - before)
      }
      expect(Math.max(...perSecond)).toBeLessThan(10)
      expect(claims).toBeLessThan(30)
      const warnings = lines.filter((l) => l.level === "WARN")
      expect(warnings.map((l) => l.message)).toEqual([expect.stringMatching(/^The workers failed; trying again in/)])
      expect(warnings[0]!.cause).toContain("NOPERM")
      expect(lines.filter((l) => l.level === "ERROR")).toEqual([])
      // Mended: within the longest wait the workers claim again, say so once, and run the task.
      broken = false
      yield* TestClock.adjust("30 seconds")
      expect((yield* registry.get(task.id))._tag).toBe("COMPLETED")
      const info = lines.filter((l) => l.level === "INFO" && l.message.startsWith("The workers"))
      expect(info.map((l) => l.message)).toEqual([
        expect.stringMatching(/^The workers recovered after \d+ failure\(s\)/)
      ])
    }).pipe(Effect.scoped, Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Info))
  })

  it.effect("fail a task of a kind they have no handler for, saying so, and go on to the next", () =>
    Effect.gen(function* () {
      // A store that answers a claim for kind `k` with a task of another kind (a bug, or a kind renamed meanwhile).
      const waiting = yield* Ref.make([claimed(1, "other"), claimed(2, "k")])
      const finished = yield* Queue.unbounded<readonly [string, RunOutcome]>()
      const kinds = yield* Ref.make<Array<ReadonlyArray<string>>>([])
      const queue = TaskQueue.of({
        claim: (names) =>
          Ref.update(kinds, (seen) => [...seen, names]).pipe(
            Effect.zipRight(Ref.modify(waiting, ([first, ...rest]) => [Option.fromNullable(first), rest] as const))
          ),
        report: () => Effect.void,
        finish: (claim, outcome) => Queue.offer(finished, [claim.kind, outcome] as const),
        onLost: () => Effect.succeed(Effect.void),
        subscribeWork: () => Effect.succeed(Effect.never)
      })
      yield* Layer.build(noOpWorkersOn(queue, { concurrency: 1 }))
      expect(yield* Queue.take(finished)).toEqual([
        "other",
        { _tag: "Failed", message: "Task died unexpectedly: No handler for tasks of kind other" }
      ])
      expect(yield* Queue.take(finished)).toEqual(["k", { _tag: "Succeeded" }])
      // It claims only the kinds it has handlers for.
      expect((yield* Ref.get(kinds))[0]).toEqual(["k"])
    }).pipe(Effect.scoped)
  )

  it.effect("say once that they retry a store they cannot reach, and run the task when it answers", () => {
    const { layer, lines } = logCapture()
    return Effect.gen(function* () {
      const { finished, queue } = yield* scriptedQueue([claimed(1, "k")])
      let down = 3
      const flaky = TaskQueue.of({
        ...queue,
        claim: (kinds, token) =>
          Effect.suspend(() =>
            down-- > 0
              ? Effect.fail(new RegistryUnavailable({ message: "connection refused" }))
              : queue.claim(kinds, token)
          )
      })
      yield* Layer.build(workersOn(flaky, () => Effect.void))
      yield* TestClock.adjust("10 seconds")
      expect(yield* Queue.take(finished)).toEqual({ _tag: "Succeeded" })
      expect(lines.filter((l) => l.level === "WARN").map((l) => l.message)).toEqual([
        "Retrying until the task store answers: connection refused"
      ])
    }).pipe(Effect.scoped, Effect.provide(layer))
  })

  it.effect("report each unit of progress, done or failed, numbered from 1 under the claim", () =>
    Effect.gen(function* () {
      const { finished, queue, reports } = yield* scriptedQueue([claimed(1, "k")])
      const error = new SegmentError({ segmentId: "s2", message: "no voice" })
      yield* Layer.build(
        workersOn(queue, (_, progress) => Effect.zipRight(progress.segmentDone(segment), progress.segmentFailed(error)))
      )
      expect(yield* Queue.take(finished)).toEqual({ _tag: "Succeeded" })
      expect(reports).toEqual([
        [1, { _tag: "SegmentDone", segment }],
        [2, { _tag: "SegmentFailed", error }]
      ])
    }).pipe(Effect.scoped)
  )

  it.effect("stop a handler whose report is refused after a wait for the store, and record it as interrupted", () => {
    const { layer, lines } = logCapture()
    return Effect.gen(function* () {
      const task = claimed(1, "k")
      // The store cannot be reached, then answers that the claim is lost (the task was cancelled meanwhile).
      let tries = 0
      const { finished, queue, reports } = yield* scriptedQueue([task], () =>
        tries++ === 0
          ? Effect.fail(new RegistryUnavailable({ message: "timeout" }))
          : Effect.fail(new ClaimLost({ taskId: task.id }))
      )
      const after = yield* Ref.make(false)
      yield* Layer.build(
        workersOn(queue, (_, progress) => Effect.zipRight(progress.segmentDone(segment), Ref.set(after, true)))
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Queue.take(finished)).toEqual({ _tag: "Interrupted" })
      expect(yield* Ref.get(after)).toBe(false)
      // The same report, retried under its number.
      expect(reports.map(([n]) => n)).toEqual([1, 1])
      expect(lines.filter((l) => l.level === "WARN").map((l) => l.message)).toEqual([
        "Retrying until the task store answers: timeout"
      ])
    }).pipe(Effect.scoped, Effect.provide(layer))
  })

  it.effect("record a handler that interrupts itself as interrupted, not as a shutdown, saying nothing", () => {
    const { layer, lines } = logCapture()
    return Effect.gen(function* () {
      const { finished, queue } = yield* scriptedQueue([claimed(1, "k")])
      yield* Layer.build(workersOn(queue, () => Effect.interrupt))
      expect(yield* Queue.take(finished)).toEqual({ _tag: "Interrupted" })
      expect(lines.filter((l) => l.level !== "DEBUG")).toEqual([])
    }).pipe(Effect.scoped, Effect.provide(layer))
  })

  it.effect("stop a handler when the store says its claim is lost, recording it as interrupted", () =>
    Effect.gen(function* () {
      const { finished, queue } = yield* scriptedQueue([claimed(1, "k")])
      // The claim is already lost when the worker starts watching it.
      const lost = TaskQueue.of({ ...queue, onLost: (_, stop) => Effect.as(stop, Effect.void) })
      yield* Layer.build(workersOn(lost, () => Effect.never))
      expect(yield* Queue.take(finished)).toEqual({ _tag: "Interrupted" })
    }).pipe(Effect.scoped)
  )

  it.effect("log a handler's failure with its cause, on the task, and record it as failed", () => {
    const { layer, lines } = logCapture()
    return Effect.gen(function* () {
      const task = claimed(1, "k")
      const { finished, queue } = yield* scriptedQueue([task])
      yield* Layer.build(workersOn(queue, () => Effect.fail(new Error("the voice engine is gone"))))
      expect(yield* Queue.take(finished)).toEqual({ _tag: "Failed", message: "Task failed: the voice engine is gone" })
      const warnings = lines.filter((l) => l.level === "WARN")
      expect(warnings.map((l) => [l.message, l.annotations])).toEqual([
        ["Task ended with an error", { taskId: task.id, kind: "k" }]
      ])
      expect(warnings[0]!.cause).toContain("the voice engine is gone")
    }).pipe(Effect.scoped, Effect.provide(layer))
  })

  it.effect("say they recovered as soon as a claim answers, while they wait for work", () => {
    const { layer, lines } = logCapture()
    return Effect.gen(function* () {
      const { queue } = yield* scriptedQueue([])
      let broken = true
      const dying = TaskQueue.of({
        ...queue,
        claim: (kinds, token) => (broken ? Effect.dieMessage("NOPERM") : queue.claim(kinds, token))
      })
      yield* Layer.build(workersOn(dying, () => Effect.void))
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      broken = false
      yield* TestClock.adjust("1 second")
      // The claim found nothing: the worker waits for work (for ever here), and has said it works again.
      expect(lines.filter((l) => l.level === "INFO").map((l) => l.message)).toEqual([
        expect.stringMatching(/^The workers recovered after 1 failure\(s\)/)
      ])
    }).pipe(Effect.scoped, Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Info))
  })

  it.effect("with no kinds, start no worker: nothing is claimed", () =>
    Effect.gen(function* () {
      let calls = 0
      const counting = TaskQueue.of({
        claim: () => Effect.sync(() => (calls++, Option.none())),
        report: () => Effect.void,
        finish: () => Effect.void,
        onLost: () => Effect.succeed(Effect.void),
        subscribeWork: () => Effect.sync(() => (calls++, Effect.never))
      })
      yield* Layer.build(
        TaskWorkers.layer<never>().pipe(
          // No kind, so no handler to provide (the type still names one, of no kind).
          Layer.provide(Layer.succeedContext(Context.empty() as Context.Context<TaskHandler.TaskHandler<never>>)),
          Layer.provide(Layer.succeed(TaskQueue, counting)),
          Layer.provide(RegistryConfig.layer({ concurrency: 2 }))
        )
      )
      yield* TestClock.adjust("1 minute")
      expect(calls).toBe(0)
    }).pipe(Effect.scoped)
  )

  it.effect("refuse to start for a kind whose name is not a kind's name, saying why", () =>
    Effect.gen(function* () {
      // A kind declared without `TaskKind.make`, which would have thrown; its handler is there.
      const name = "no spaces"
      const exit = yield* Effect.exit(
        Layer.build(
          TaskWorkers.layer({ name }).pipe(
            Layer.provide(Layer.succeed(TaskHandler.tag(name), { kind: name, run: () => Effect.void })),
            Layer.provide(Layer.succeed(TaskQueue, (yield* scriptedQueue([])).queue)),
            Layer.provide(RegistryConfig.layer({}))
          )
        )
      )
      const defect = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined
      expect(defect).toMatchObject({ message: TaskKind.invalidName(name) })
      expect(TaskKind.invalidName(name)).toMatch(/^Invalid task kind name "no spaces"/)
    }).pipe(Effect.scoped)
  )
})
