import type { ConfigError } from "effect"
import { Layer } from "effect"
import * as RegistryConfig from "../services/RegistryConfig.js"
import type { TaskRegistry } from "../services/TaskRegistry.js"
import * as Sweeper from "./Sweeper.js"
import * as TaskRegistryMemory from "./TaskRegistryMemory.js"

/** The in-memory registry with its sweep fiber, for a configuration supplied by the caller. */
export const TaskRegistryFromConfig: Layer.Layer<TaskRegistry, never, RegistryConfig.RegistryConfig> =
  Sweeper.layer.pipe(Layer.provideMerge(TaskRegistryMemory.layer))

/** The in-memory registry with its sweep fiber, configured from the `ConfigProvider` (env vars by default). */
export const TaskRegistryLive: Layer.Layer<TaskRegistry, ConfigError.ConfigError> = TaskRegistryFromConfig.pipe(
  Layer.provide(RegistryConfig.layerFromEnv)
)

/** The in-memory registry with its sweep fiber, configured in code over the defaults. */
export const taskRegistryLayer = (config: Partial<RegistryConfig.RegistryConfigShape>): Layer.Layer<TaskRegistry> =>
  TaskRegistryFromConfig.pipe(Layer.provide(RegistryConfig.layer(config)))
