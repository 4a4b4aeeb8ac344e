import type { ConfigError } from "effect"
import { Config, Context, Duration, Layer } from "effect"

/** Where the Redis registry keeps its tasks, and how long a worker's claim lasts. */
export interface RedisConfigShape {
  /** The Redis server, e.g. `redis://127.0.0.1:6379` (`rediss://` for TLS; credentials in the URL). */
  readonly url: string
  /** The prefix of every key; a Redis Cluster hash tag such as `{storyflow}:`, so one registry's keys share a slot. */
  readonly prefix: string
  /** How long a claim lasts without renewal; workers renew every third of it, and every process reaps expired ones. */
  readonly lease: Duration.Duration
  /** Claims a task may get before a lost worker fails it instead of handing it to another. */
  readonly maxAttempts: number
}

export class RedisConfig extends Context.Tag("storyflow/RedisConfig")<RedisConfig, RedisConfigShape>() {}

/** The embedded defaults, as listed in the README. */
export const defaults: RedisConfigShape = {
  url: "redis://127.0.0.1:6379",
  prefix: "{storyflow}:",
  lease: Duration.seconds(30),
  maxAttempts: 2
}

const isRedisUrl = (text: string) => {
  try {
    const url = new URL(text)
    return (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== ""
  } catch {
    return false
  }
}

/** Reads every setting from the current `ConfigProvider` (environment variables by default). */
export const fromEnv: Config.Config<RedisConfigShape> = Config.all({
  url: Config.string("REDIS_URL").pipe(
    Config.validate({
      message: "REDIS_URL must be a redis:// or rediss:// URL with a host, such as redis://127.0.0.1:6379",
      validation: isRedisUrl
    }),
    Config.withDefault(defaults.url),
    Config.withDescription("the Redis server, when TASK_STORE=redis")
  ),
  prefix: Config.string("TASK_REDIS_PREFIX").pipe(
    Config.validate({
      message: "TASK_REDIS_PREFIX must be 1 to 100 characters, none of them a space, * ? [ ] or \\",
      validation: (p) => p.length > 0 && p.length <= 100 && !/[\s*?[\]\\]/.test(p)
    }),
    Config.withDefault(defaults.prefix),
    Config.withDescription("prefix of every Redis key (a cluster hash tag)")
  ),
  lease: Config.number("TASK_LEASE").pipe(
    Config.validate({
      message: "TASK_LEASE must be a finite number of seconds, more than 0",
      validation: (n) => Number.isFinite(n) && n > 0
    }),
    Config.map(Duration.seconds),
    Config.withDefault(defaults.lease),
    Config.withDescription("seconds a worker's claim lasts without renewal")
  ),
  maxAttempts: Config.integer("TASK_MAX_ATTEMPTS").pipe(
    Config.validate({ message: "TASK_MAX_ATTEMPTS must be a whole number, 1 or more", validation: (n) => n >= 1 }),
    Config.withDefault(defaults.maxAttempts),
    Config.withDescription("claims a task may get before a lost worker fails it")
  )
})

/** The configuration given in code, over the defaults. */
export const layer = (config: Partial<RedisConfigShape> = {}): Layer.Layer<RedisConfig> =>
  Layer.succeed(RedisConfig, { ...defaults, ...config })

/** The configuration read from the `ConfigProvider`; an invalid value fails with a message naming its variable. */
export const layerFromEnv: Layer.Layer<RedisConfig, ConfigError.ConfigError> = Layer.effect(RedisConfig, fromEnv)
