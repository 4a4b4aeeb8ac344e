import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer } from "effect"
import { defaults, layerConfig, RegistryConfig } from "../../src/services/RegistryConfig.js"

/** The service `layerConfig` builds from `env`. */
const read = (env: Record<string, string>) =>
  Effect.provide(
    RegistryConfig,
    layerConfig.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))))
  )

describe("RegistryConfig", () => {
  it.effect("uses the embedded defaults when nothing is set", () =>
    Effect.gen(function* () {
      expect(yield* read({})).toEqual(defaults)
      expect(Duration.toSeconds(defaults.cleanupThreshold)).toBe(3600)
      expect(Duration.toSeconds(defaults.cleanupInterval)).toBe(600)
    })
  )

  it.effect("reads every setting, with fractional seconds", () =>
    Effect.gen(function* () {
      const config = yield* read({
        TASK_CLEANUP_THRESHOLD: "1.5",
        TASK_CLEANUP_INTERVAL: "0",
        TASK_MAX_RETAINED: "7",
        TASK_MAX_PENDING: "8",
        TASK_CONCURRENCY: "0",
        TASK_TOMBSTONES: "0"
      })
      expect(Duration.toMillis(config.cleanupThreshold)).toBe(1500)
      expect(Duration.toMillis(config.cleanupInterval)).toBe(0)
      expect(config).toMatchObject({ maxRetained: 7, maxPending: 8, concurrency: 0, tombstones: 0 })
    })
  )

  const invalid: ReadonlyArray<[string, string]> = [
    ["TASK_CLEANUP_THRESHOLD", "-1"],
    ["TASK_CLEANUP_THRESHOLD", "soon"],
    ["TASK_CLEANUP_INTERVAL", "Infinity"],
    ["TASK_MAX_RETAINED", "2.5"],
    ["TASK_MAX_PENDING", "0"],
    ["TASK_CONCURRENCY", "-1"],
    ["TASK_TOMBSTONES", "-3"]
  ]
  for (const [name, value] of invalid) {
    it.effect(`fails with a message naming ${name} when it is ${JSON.stringify(value)}`, () =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(read({ [name]: value }))
        expect(String(error)).toContain(name)
      })
    )
  }
})
