import { describe, expect, it } from "@effect/vitest"
import {
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
import type { RunOutcome } from "../../../src/domain/Outcome.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import * as Task from "../../../src/domain/Task.js"
import { CompletedSegment } from "../../../src/domain/Task.js"
import * as TaskKind from "../../../src/domain/TaskKind.js"
import * as TaskRegistryMemory from "../../../src/layers/registry/TaskRegistryMemory.js"
import * as TaskWorkers from "../../../src/layers/registry/TaskWorkers.js"
import * as RegistryConfig from "../../../src/services/RegistryConfig.js"
import * as TaskHandler from "../../../src/services/TaskHandler.js"
import { TaskQueue } from "../../../src/services/TaskQueue.js"
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
})
