import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Ref, Schema } from "effect"
import type { TaskId } from "../../../src/domain/TaskId.js"
import * as TaskKind from "../../../src/domain/TaskKind.js"
import * as TaskWorkers from "../../../src/layers/registry/TaskWorkers.js"
import * as RegistryConfig from "../../../src/services/RegistryConfig.js"
import * as TaskHandler from "../../../src/services/TaskHandler.js"
import { TaskQueue } from "../../../src/services/TaskQueue.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import type { RegistryHarness } from "../registry.js"
import { awaitStatus, eventually } from "../registry.js"
import * as Jobs from "../script.js"
import { Script, ScriptHandler, submit } from "../script.js"

/** A second kind, whose workers must never take a wake-up meant for the test kind. */
const Other = TaskKind.make({ name: "test.other", payload: Schema.Struct({}), total: () => 1 })
const OtherHandler = TaskHandler.layer(
  Other,
  Effect.succeed(() => Effect.void)
)

/**
 * `concurrency` workers of `kinds`, over the store's queue with their claims counted (and, if given, `afterClaim`
 * run after each), in the scope.
 */
const countedWorkers = (
  concurrency: number,
  kind: "script" | "other",
  afterClaim: (claimed: boolean) => Effect.Effect<void, never, TaskRegistry> = () => Effect.void
) =>
  Effect.gen(function* () {
    const claims = yield* Ref.make(0)
    const registry = yield* TaskRegistry
    const counted = Layer.effect(
      TaskQueue,
      Effect.map(TaskQueue, (queue) =>
        TaskQueue.of({
          ...queue,
          claim: (kinds, token) =>
            Ref.update(claims, (n) => n + 1).pipe(
              Effect.zipRight(queue.claim(kinds, token)),
              Effect.tap((claim) => Effect.provideService(afterClaim(Option.isSome(claim)), TaskRegistry, registry))
            )
        })
      )
    )
    const workers =
      kind === "script"
        ? TaskWorkers.layer(Script).pipe(Layer.provide(ScriptHandler))
        : TaskWorkers.layer(Other).pipe(Layer.provide(OtherHandler))
    yield* Layer.build(workers.pipe(Layer.provide(counted), Layer.provide(RegistryConfig.layer({ concurrency }))))
    // Each worker claims once as it starts, finds nothing, and goes to sleep.
    yield* eventually(Ref.get(claims), (n) => n >= concurrency)
    return claims
  })

/**
 * How a store wakes its idle workers: a task that starts waiting wakes one idle worker that runs its kind, not every
 * idle worker (a storm of futile claims), never only a worker of another kind, and never none.
 */
export const wakeUpsSuite = (harness: RegistryHarness) => {
  // The store without workers of its own: each test brings its own, with their claims counted.
  const using = Effect.provide(harness.layer({ TASK_CONCURRENCY: "0" }))

  describe("wake-ups", () => {
    it.scoped("a submit wakes one of 500 idle workers: at most 2 claims per task", () =>
      Effect.gen(function* () {
        const claims = yield* countedWorkers(500, "script")
        yield* harness.advance("0 millis")
        yield* Ref.set(claims, 0)
        const tasks = 10
        for (let i = 0; i < tasks; i++) {
          const task = yield* submit(Jobs.instant())
          yield* awaitStatus(task.id, "COMPLETED")
        }
        // The claim that took each task, and the one its worker makes when it is done, finding nothing.
        yield* harness.advance("0 millis")
        expect(yield* Ref.get(claims)).toBeLessThanOrEqual(2 * tasks)
      }).pipe(using)
    )

    it.scoped("a submit of one kind wakes an idle worker of that kind, not the idle workers of another", () =>
      Effect.gen(function* () {
        const others = yield* countedWorkers(50, "other")
        const ours = yield* countedWorkers(1, "script")
        yield* harness.advance("0 millis")
        yield* Ref.set(others, 0)
        yield* Ref.set(ours, 0)
        for (let i = 0; i < 5; i++) {
          const task = yield* submit(Jobs.instant())
          yield* awaitStatus(task.id, "COMPLETED")
        }
        yield* harness.advance("0 millis")
        expect(yield* Ref.get(others)).toBe(0)
        expect(yield* Ref.get(ours)).toBeLessThanOrEqual(10)
      }).pipe(using)
    )

    it.scoped("a task submitted between a worker's claim that found nothing and its wait is not slept through", () =>
      Effect.gen(function* () {
        // The only worker's claim finds nothing; before it goes to sleep, a task is submitted.
        let armed = false
        const submitted = yield* Ref.make(Option.none<TaskId>())
        yield* countedWorkers(1, "script", (claimed) =>
          claimed || !armed
            ? Effect.void
            : Effect.gen(function* () {
                armed = false
                const task = yield* submit(Jobs.instant()).pipe(Effect.orDie)
                yield* Ref.set(submitted, Option.some(task.id))
              })
        )
        yield* harness.advance("0 millis")
        armed = true
        // The worker runs this task, then claims again, finding nothing: that is when the next task is submitted.
        const first = yield* submit(Jobs.instant())
        yield* awaitStatus(first.id, "COMPLETED")
        const next = yield* eventually(Ref.get(submitted), Option.isSome)
        yield* awaitStatus(Option.getOrThrow(next), "COMPLETED")
      }).pipe(using)
    )
  })
}
