import type { ConfigError } from "effect"
import { Context, Layer } from "effect"
import type { RegistryConfigShape } from "./Settings.js"
import * as Settings from "./Settings.js"

// The shape and its reader live in the settings module, with every other variable; this module is the service.
export type { RegistryConfigShape } from "./Settings.js"

export class RegistryConfig extends Context.Tag("storyflow/RegistryConfig")<RegistryConfig, RegistryConfigShape>() {}

/** The embedded defaults, as listed in the README. */
export const defaults: RegistryConfigShape = Settings.registryDefaults

/** The configuration given in code, over the defaults. */
export const layer = (config: Partial<RegistryConfigShape> = {}): Layer.Layer<RegistryConfig> =>
  Layer.succeed(RegistryConfig, { ...defaults, ...config })

/**
 * The configuration read from the `ConfigProvider` (the `TASK_*` variables); an invalid value fails with a message
 * naming its variable.
 */
export const layerConfig: Layer.Layer<RegistryConfig, ConfigError.ConfigError> = Layer.effect(
  RegistryConfig,
  Settings.registry
)
