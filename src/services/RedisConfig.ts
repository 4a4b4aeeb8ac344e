import type { ConfigError } from "effect"
import { Context, Layer } from "effect"
import type { RedisConfigShape } from "./Settings.js"
import * as Settings from "./Settings.js"

// The shape and its reader live in the settings module, with every other variable; this module is the service.
export type { RedisConfigShape } from "./Settings.js"

export class RedisConfig extends Context.Tag("storyflow/RedisConfig")<RedisConfig, RedisConfigShape>() {}

/** The embedded defaults, as listed in the README. */
export const defaults: RedisConfigShape = Settings.redisDefaults

/** The configuration given in code, over the defaults. */
export const layer = (config: Partial<RedisConfigShape> = {}): Layer.Layer<RedisConfig> =>
  Layer.succeed(RedisConfig, { ...defaults, ...config })

/**
 * The configuration read from the `ConfigProvider` (`REDIS_URL`, `TASK_REDIS_PREFIX`, `TASK_LEASE`,
 * `TASK_MAX_ATTEMPTS`); an invalid value fails with a message naming its variable.
 */
export const layerConfig: Layer.Layer<RedisConfig, ConfigError.ConfigError> = Layer.effect(RedisConfig, Settings.redis)

/** A Redis URL without its password, for messages and logs. */
export const redact = (url: string) => {
  const parsed = new URL(url)
  if (parsed.password !== "") parsed.password = "***"
  return parsed.toString()
}
