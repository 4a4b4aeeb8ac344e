import { describe, expect, it } from "@effect/vitest"
import { createClient } from "@redis/client"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { logCapture } from "../../support/logs.js"
import { redisRegistry, redisUrl, testPrefix } from "../../support/redis.js"

describe("TaskRegistryRedis loops", () => {
  it.live("reaping goes on when its script errors, backing off, with one Warning, and recovers", () => {
    const { layer, lines } = logCapture()
    const prefix = testPrefix()
    return Effect.gen(function* () {
      const client = yield* Effect.promise(() =>
        createClient({ url: redisUrl })
          .on("error", () => {})
          .connect()
      )
      // The claims index as a string: the reap script fails with WRONGTYPE, a defect of the store.
      yield* Effect.promise(() => client.set(`${prefix}claims`, "not a sorted set"))
      yield* Layer.build(redisRegistry({ TASK_REDIS_PREFIX: prefix, TASK_LEASE: "1.2", TASK_CONCURRENCY: "1" }))
      yield* Effect.sleep("2 seconds")
      const debug = lines.filter((l) => l.message.startsWith("Reaping expired claims failed again"))
      const warnings = lines.filter((l) => l.level === "WARN" && l.message.startsWith("Reaping"))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]!.cause).toContain("WRONGTYPE")
      // Tries at most every 200 ms (the reap's interval caps its back-off): under 10 a second.
      expect(1 + debug.length).toBeLessThan(20)
      expect(1 + debug.length).toBeGreaterThan(3)
      yield* Effect.promise(() => client.del(`${prefix}claims`))
      yield* Effect.sleep("1 second")
      expect(lines.filter((l) => l.message.startsWith("Reaping expired claims recovered"))).toHaveLength(1)
      yield* Effect.promise(() => client.quit())
    }).pipe(Effect.scoped, Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug))
  })
})
