import type { ConfigError } from "effect"
import { Config, Context, Duration, Layer } from "effect"

/** How the registry bounds its memory and its work. */
export interface RegistryConfigShape {
  /** How long a finished record is kept. */
  readonly cleanupThreshold: Duration.Duration
  /** Time between periodic sweeps; zero turns the sweep fiber off. */
  readonly cleanupInterval: Duration.Duration
  /** Finished records kept at most; past it the oldest go first. */
  readonly maxRetained: number
  /** PENDING + PROCESSING tasks at most; past it submit fails with `RegistryFull`. */
  readonly maxPending: number
  /** The most work (kinds' weights: characters for narration) unfinished tasks hold at once; `RegistryBusy` past it. */
  readonly maxPendingWork: number
  /** Worker fibers in this process, so tasks processed at once; 0 = this process runs no tasks. */
  readonly concurrency: number
  /** Tombstones of evicted tasks kept at most. */
  readonly tombstones: number
}

export class RegistryConfig extends Context.Tag("storyflow/RegistryConfig")<RegistryConfig, RegistryConfigShape>() {}

/** The embedded defaults, as listed in the README. */
export const defaults: RegistryConfigShape = {
  cleanupThreshold: Duration.hours(1),
  cleanupInterval: Duration.minutes(10),
  maxRetained: 1000,
  maxPending: 100,
  maxPendingWork: 250_000,
  concurrency: 1,
  tombstones: 10_000
}

const seconds = (name: string, fallback: Duration.Duration, description: string) =>
  Config.number(name).pipe(
    Config.validate({
      message: `${name} must be a finite number of seconds, 0 or more`,
      validation: (n) => Number.isFinite(n) && n >= 0
    }),
    Config.map(Duration.seconds),
    Config.withDefault(fallback),
    Config.withDescription(description)
  )

const count = (name: string, fallback: number, min: number, description: string) =>
  Config.integer(name).pipe(
    Config.validate({ message: `${name} must be a whole number, ${min} or more`, validation: (n) => n >= min }),
    Config.withDefault(fallback),
    Config.withDescription(description)
  )

/** Reads every setting from the current `ConfigProvider` (environment variables by default). */
export const fromEnv: Config.Config<RegistryConfigShape> = Config.all({
  cleanupThreshold: seconds("TASK_CLEANUP_THRESHOLD", defaults.cleanupThreshold, "seconds a finished record is kept"),
  cleanupInterval: seconds("TASK_CLEANUP_INTERVAL", defaults.cleanupInterval, "seconds between sweeps; 0 = none"),
  maxRetained: count("TASK_MAX_RETAINED", defaults.maxRetained, 0, "finished records kept at most"),
  maxPending: count("TASK_MAX_PENDING", defaults.maxPending, 1, "pending + processing tasks at most"),
  maxPendingWork: count(
    "TASK_MAX_PENDING_WORK",
    defaults.maxPendingWork,
    1,
    "work (characters, for narration) pending + processing tasks hold at most"
  ),
  concurrency: count("TASK_CONCURRENCY", defaults.concurrency, 0, "worker fibers (tasks processed at once); 0 = none"),
  tombstones: count("TASK_TOMBSTONES", defaults.tombstones, 0, "evicted-task tombstones kept")
})

/** The configuration given in code, over the defaults. */
export const layer = (config: Partial<RegistryConfigShape> = {}): Layer.Layer<RegistryConfig> =>
  Layer.succeed(RegistryConfig, { ...defaults, ...config })

/** The configuration read from the `ConfigProvider`; an invalid value fails with a message naming its variable. */
export const layerFromEnv: Layer.Layer<RegistryConfig, ConfigError.ConfigError> = Layer.effect(RegistryConfig, fromEnv)
