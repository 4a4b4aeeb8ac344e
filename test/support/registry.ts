import type { ConfigError } from "effect"
import type { Scope } from "effect"
import { ConfigProvider, Duration, Effect, Layer, Option, Stream, TestClock, TestServices } from "effect"
import type { TaskStatus } from "../../src/domain/Task.js"
import type { TaskId } from "../../src/domain/TaskId.js"
import * as TaskRegistryMemory from "../../src/layers/registry/TaskRegistryMemory.js"
import * as TaskWorkers from "../../src/layers/registry/TaskWorkers.js"
import type { TaskQueue } from "../../src/services/TaskQueue.js"
import { TaskRegistry } from "../../src/services/TaskRegistry.js"
import { Gates, Script, ScriptHandler } from "./script.js"

/**
 * What the contract suite needs of a store: the registry under test, with workers that run the test kind, built
 * from environment-style settings; and how to move time on for it. Everything else the suite does through the
 * `TaskRegistry` interface (watching a task to await its state), so that any store can pass it.
 */
export interface RegistryHarness {
  readonly layer: (
    env: Record<string, string>
  ) => Layer.Layer<TaskRegistry | TaskQueue | Gates, ConfigError.ConfigError>
  /** Moves the registry's clock on by `duration` and lets whatever is due at the new time run. */
  readonly advance: (duration: Duration.DurationInput) => Effect.Effect<void>
  /**
   * For a store that outlives a process (shared by several): settings under which every layer built with them uses
   * one store, removed when the scope closes. A process that stops hands its running tasks back to that store.
   * Absent for a store that lives and dies with its process, whose running tasks end CANCELLED when it stops.
   */
  readonly shared?: Effect.Effect<Record<string, string>, never, Scope.Scope>
}

/** Settings as environment variables, read through a `ConfigProvider` built from them. */
export const withEnv = <A, E, R>(layer: Layer.Layer<A, E, R>, env: Record<string, string>) =>
  layer.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))))

/** The in-memory store with `TASK_CONCURRENCY` workers for the test kind. */
export const memoryRegistry = (env: Record<string, string>) =>
  withEnv(
    TaskWorkers.layer(Script).pipe(
      Layer.provide(ScriptHandler),
      Layer.provideMerge(TaskRegistryMemory.layerConfig),
      Layer.provideMerge(Gates.layer)
    ),
    env
  )

export const memoryHarness: RegistryHarness = {
  layer: memoryRegistry,
  advance: (duration) => TestClock.adjust(duration)
}

/** Fails with `message` unless `self` ends within `seconds` of real time (the test clock does not move by itself). */
export const within = <A, E, R>(seconds: number, message: string, self: Effect.Effect<A, E, R>) =>
  Effect.raceFirst(
    self,
    TestServices.provideLive(Effect.sleep(Duration.seconds(seconds))).pipe(Effect.zipRight(Effect.dieMessage(message)))
  )

/** Watches the task until its status is `status`; fails if it ends in another state, or within 10 s of real time. */
export const awaitStatus = (id: TaskId, status: TaskStatus) =>
  Effect.gen(function* () {
    const registry = yield* TaskRegistry
    const last = yield* registry.watch(id).pipe(
      Stream.takeUntil((task) => task._tag === status),
      Stream.runLast
    )
    if (Option.isSome(last) && last.value._tag === status) return last.value
    return yield* Effect.dieMessage(
      `task ${id} ended as ${Option.getOrUndefined(last)?._tag} before reaching ${status}`
    )
  }).pipe((wait) => within(10, `task ${id} never reached ${status}`, wait))

/**
 * Repeats `check` until `holds` accepts its answer, letting other fibers (and a store's own I/O) run in between;
 * answers the accepted value, or fails after 10 s of real time.
 */
export const eventually = <A, E, R>(check: Effect.Effect<A, E, R>, holds: (a: A) => boolean) =>
  within(
    10,
    "the expected state was never reached",
    Effect.gen(function* () {
      for (let attempt = 0; ; attempt++) {
        const answer = yield* check
        if (holds(answer)) return answer
        // Yield first, which is all an in-memory store needs; then give I/O a moment too.
        yield* attempt < 50 ? Effect.yieldNow() : TestServices.provideLive(Effect.sleep("2 millis"))
      }
    })
  )
