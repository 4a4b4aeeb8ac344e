import type { ConfigError } from "effect"
import { ConfigProvider, Effect, Either, Layer } from "effect"
import type { TaskStatus } from "../../src/domain/Task.js"
import type { TaskId } from "../../src/domain/TaskId.js"
import { TaskRegistry } from "../../src/services/TaskRegistry.js"

/** Builds the registry under test from environment-style settings, the way a deployment configures it. */
export type RegistryLayer = (env: Record<string, string>) => Layer.Layer<TaskRegistry, ConfigError.ConfigError>

/** Settings as environment variables, read through a `ConfigProvider` built from them. */
export const withEnv = <A, E, R>(layer: Layer.Layer<A, E, R>, env: Record<string, string>) =>
  layer.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))))

/** Lets forked fibers run until the task reaches `status`; fails the test if it never does. */
export const awaitStatus = (id: TaskId, status: TaskStatus) =>
  Effect.gen(function* () {
    const registry = yield* TaskRegistry
    for (let i = 0; i < 1000; i++) {
      const task = yield* Effect.either(registry.get(id))
      if (Either.isRight(task) && task.right._tag === status) return task.right
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage(`task ${id} never reached ${status}`)
  })

/** Lets every forked fiber that can make progress without the clock do so. */
export const settle = Effect.forEach(Array.from({ length: 50 }), () => Effect.yieldNow(), { discard: true })
