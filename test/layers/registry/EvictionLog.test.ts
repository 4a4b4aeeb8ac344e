import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Logger, Scope, TestClock } from "effect"
import * as EvictionLog from "../../../src/layers/registry/EvictionLog.js"
import { cleanupCapture } from "../../support/logs.js"

/** An eviction log in a scope of its own (closed with the test's), to close before the test ends. */
const inScope = Effect.gen(function* () {
  const scope = yield* Effect.acquireRelease(Scope.make(), (scope) => Scope.close(scope, Exit.void))
  return { log: yield* Scope.extend(EvictionLog.make, scope), scope }
})

describe("EvictionLog", () => {
  it.scoped("says evictions in passing at once, then at most one line a minute, when a minute has passed", () => {
    const { layer, lines } = cleanupCapture()
    return Effect.gen(function* () {
      const log = yield* EvictionLog.make
      yield* log.evicted(1)
      yield* TestClock.adjust("30 seconds")
      yield* log.evicted(2)
      yield* log.evicted(0)
      yield* TestClock.adjust("29 seconds")
      expect(lines).toEqual([{ at: 0, message: "Cleaned up 1 finished task(s)", evicted: 1 }])
      yield* TestClock.adjust("1 second")
      expect(lines.slice(1)).toEqual([
        { at: 60_000, message: "Cleaned up 2 finished task(s) in the last minute", evicted: 2 }
      ])
      // Nothing is said while nothing is pending; a minute after the last line, an eviction is said at once again.
      yield* TestClock.adjust("10 minutes")
      expect(lines).toHaveLength(2)
      yield* log.evicted(4)
      expect(lines.slice(2)).toEqual([{ at: 660_000, message: "Cleaned up 4 finished task(s)", evicted: 4 }])
    }).pipe(Effect.provide(layer))
  })

  it.scoped("says a sweep's count at once, whenever the last line was", () => {
    const { layer, lines } = cleanupCapture()
    return Effect.gen(function* () {
      const log = yield* EvictionLog.make
      yield* log.evicted(1)
      yield* log.swept(1_500)
      yield* log.swept(0)
      expect(lines.map((l) => l.message)).toEqual(["Cleaned up 1 finished task(s)", "Cleaned up 1500 finished task(s)"])
    }).pipe(Effect.provide(layer))
  })

  it.scoped("says what is pending when its scope closes", () => {
    const { layer, lines } = cleanupCapture()
    return Effect.gen(function* () {
      const { log, scope } = yield* inScope
      yield* log.evicted(1)
      yield* log.evicted(5)
      yield* Scope.close(scope, Exit.void)
      expect(lines.map((l) => [l.message, l.at])).toEqual([
        ["Cleaned up 1 finished task(s)", 0],
        ["Cleaned up 5 finished task(s) in the last minute", 0]
      ])
    }).pipe(Effect.provide(layer))
  })

  it.scoped("goes on summarising after a line that dies", () => {
    const said: Array<string> = []
    let dies = 1
    const logger = Logger.make(({ message }) => {
      const text = String(message)
      if (text.endsWith("in the last minute") && dies-- > 0) throw new Error("the log went away")
      said.push(text)
    })
    return Effect.gen(function* () {
      const log = yield* EvictionLog.make
      yield* log.evicted(1)
      yield* log.evicted(2)
      // The summary at one minute dies (its count is lost with it); the fiber is tried again and goes on.
      yield* TestClock.adjust("70 seconds")
      yield* log.evicted(3)
      yield* TestClock.adjust("1 minute")
      expect(said.filter((line) => line.startsWith("Cleaned up"))).toEqual([
        "Cleaned up 1 finished task(s)",
        "Cleaned up 3 finished task(s) in the last minute"
      ])
      expect(said.filter((line) => line.includes("failed"))).toEqual([
        expect.stringMatching(/^The eviction log failed; trying again in 100ms/)
      ])
    }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
  })

  it.scoped(
    "says an eviction at once a minute to the millisecond after the last line, and not a millisecond sooner",
    () => {
      const { layer, lines } = cleanupCapture()
      return Effect.gen(function* () {
        const log = yield* EvictionLog.make
        yield* log.evicted(1)
        yield* TestClock.adjust("59999 millis")
        yield* log.evicted(2)
        yield* TestClock.adjust("1 millis")
        yield* TestClock.adjust("1 minute")
        yield* log.evicted(3)
        expect(lines).toEqual([
          { at: 0, message: "Cleaned up 1 finished task(s)", evicted: 1 },
          { at: 60_000, message: "Cleaned up 2 finished task(s) in the last minute", evicted: 2 },
          { at: 120_000, message: "Cleaned up 3 finished task(s)", evicted: 3 }
        ])
      }).pipe(Effect.provide(layer))
    }
  )

  it.scoped("counts a step that evicted nothing as no line", () => {
    const { layer, lines } = cleanupCapture()
    return Effect.gen(function* () {
      const log = yield* EvictionLog.make
      yield* log.evicted(0)
      yield* log.evicted(1)
      expect(lines).toEqual([{ at: 0, message: "Cleaned up 1 finished task(s)", evicted: 1 }])
    }).pipe(Effect.provide(layer))
  })
})
