import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Layer, Option, Schema, Scope } from "effect"
import { RegistryUnavailable } from "../../../src/domain/Errors.js"
import { CompletedSegment } from "../../../src/domain/Task.js"
import * as TaskKind from "../../../src/domain/TaskKind.js"
import * as TaskRegistryMemory from "../../../src/layers/registry/TaskRegistryMemory.js"
import * as TaskWorkers from "../../../src/layers/registry/TaskWorkers.js"
import * as RegistryConfig from "../../../src/services/RegistryConfig.js"
import * as TaskHandler from "../../../src/services/TaskHandler.js"
import { TaskQueue } from "../../../src/services/TaskQueue.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import { awaitStatus } from "../../support/registry.js"

const Kind = TaskKind.make({ name: "k", payload: Schema.Struct({}), total: () => 1 })
const segment = new CompletedSegment({ segmentId: "s1", audioUrl: "/a", durationSeconds: 0 })

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
      yield* Layer.buildWithScope(
        TaskWorkers.layer(Kind).pipe(
          Layer.provide(
            TaskHandler.layer(
              Kind,
              Effect.succeed(() => Effect.void)
            )
          ),
          Layer.provide(Layer.succeed(TaskQueue, unreachable)),
          Layer.provide(RegistryConfig.layer({}))
        ),
        scope
      )
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
})
