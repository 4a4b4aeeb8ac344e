import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import { Effect, Layer, Logger } from "effect"
import * as Logging from "../../../src/layers/observability/Logging.js"
import { withEnv } from "../../support/registry.js"

/** What `self` writes to the console, line by line, under the logger `LOG_FORMAT` chooses. */
const linesOf = <A, E>(env: Record<string, string>, self: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const spy = vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => {
      lines.push(args.map(String).join(" "))
    })
    yield* Effect.provide(self, withEnv(Logging.layerConfig, env)).pipe(
      Effect.ensuring(Effect.sync(() => spy.mockRestore()))
    )
    return lines
  })

const logSomething = Effect.logInfo("Cleaned up 3 finished task(s)").pipe(Effect.annotateLogs("evicted", 3))

describe("LOG_FORMAT", () => {
  afterEach(() => vi.restoreAllMocks())

  it.effect("json: one JSON object per log line, with the message, level and annotations, and nothing else", () =>
    Effect.gen(function* () {
      const lines = yield* linesOf(
        { LOG_FORMAT: "json" },
        Effect.zipRight(logSomething, Effect.logWarning("second"))
      ).pipe(
        // As under `NodeRuntime.runMain`, which logs with Effect's pretty logger.
        Effect.provide(Logger.replace(Logger.defaultLogger, Logger.prettyLoggerDefault))
      )
      expect(lines).toHaveLength(2)
      const first = JSON.parse(lines[0]!)
      expect(first).toMatchObject({
        message: "Cleaned up 3 finished task(s)",
        logLevel: "INFO",
        annotations: { evicted: 3 }
      })
      expect(JSON.parse(lines[1]!)).toMatchObject({ message: "second", logLevel: "WARN" })
    })
  )

  // Live: `it.effect` sets Effect's default logger aside, and `pretty` keeps the logger the program runs with.
  it.live("pretty, and unset: the program's own logger, not JSON", () =>
    Effect.gen(function* () {
      for (const env of [{}, { LOG_FORMAT: "pretty" }]) {
        const lines = yield* linesOf(env, logSomething)
        expect(lines).toHaveLength(1)
        expect(lines[0]).toMatch(/level=INFO .*message="Cleaned up 3 finished task\(s\)" evicted=3/)
        expect(() => JSON.parse(lines[0]!)).toThrow()
      }
    })
  )

  it.effect("anything else fails at start-up, naming the variable and its values", () =>
    Effect.gen(function* () {
      const built = yield* Effect.either(Layer.build(withEnv(Logging.layerConfig, { LOG_FORMAT: "xml" })))
      expect(built._tag).toBe("Left")
      expect(String(built._tag === "Left" ? built.left : "")).toMatch(/LOG_FORMAT must be "pretty" or "json"/)
    }).pipe(Effect.scoped)
  )
})
