import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Logger, LogLevel, TestClock } from "effect"
import * as Loops from "../../../src/layers/registry/Loops.js"
import { logCapture } from "../../support/logs.js"

/** Lines of `loop` above Debug. */
const said = (lines: ReadonlyArray<{ level: string; message: string }>) =>
  lines.filter((l) => l.level !== "DEBUG").map((l) => `${l.level} ${l.message}`)

describe("Loops", () => {
  it.effect(
    "retries a step that dies with a doubling wait up to the cap, and logs the streak, not each failure",
    () => {
      const { layer, lines } = logCapture()
      return Effect.gen(function* () {
        let tries = 0
        let broken = true
        const step = Effect.suspend(() => {
          tries++
          // Once it works, it is a periodic loop: each run takes a second.
          return broken ? Effect.dieMessage("boom") : Effect.sleep("1 second")
        })
        const fiber = yield* Effect.fork(Loops.supervised("The test loop", step, { cap: "2 seconds" }))
        yield* Effect.yieldNow()
        expect(tries).toBe(1)
        // Waits of 100, 200, 400, 800, 1,600 ms, then 2 s each: tries at 0, 0.1, 0.3, 0.7, 1.5, 3.1, 5.1 … s.
        const at: Array<number> = []
        for (let ms = 100; ms <= 10_000; ms += 100) {
          yield* TestClock.adjust("100 millis")
          if (tries > at.length + 1) at.push(ms)
        }
        expect(at.slice(0, 6)).toEqual([100, 300, 700, 1500, 3100, 5100])
        expect(tries).toBe(9)
        // One Warning for the streak, with the defect; every other failure at Debug.
        expect(said(lines)).toEqual([
          "WARN The test loop failed; trying again in 100ms, then less often (at most every 2s) until it works"
        ])
        expect(lines[0]!.cause).toContain("boom")
        expect(lines.filter((l) => l.level === "DEBUG")).toHaveLength(tries - 1)

        // A minute into the streak, one summary; then none for another minute.
        yield* TestClock.adjust("52 seconds")
        expect(said(lines)).toHaveLength(2)
        expect(said(lines)[1]).toMatch(/^WARN The test loop is still failing: \d+ failures in a row over 1m/)
        yield* TestClock.adjust("59 seconds")
        expect(said(lines)).toHaveLength(2)

        // Recovery: one Info line, then the loop runs freely; the next streak starts from 100 ms and is logged again.
        broken = false
        const before = tries
        yield* TestClock.adjust("2 seconds")
        expect(tries).toBe(before + 2)
        expect(said(lines).slice(2)).toEqual([
          expect.stringMatching(/^INFO The test loop recovered after \d+ failure\(s\) over 2m/)
        ])
        broken = true
        yield* TestClock.adjust("100 millis")
        expect(said(lines).slice(3)).toEqual([
          expect.stringMatching(/^WARN The test loop failed; trying again in 100ms/)
        ])
        yield* TestClock.adjust("100 millis")
        expect(tries).toBe(before + 4)
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug))
    }
  )

  it.effect("counts failures and typed errors alike, and `healthy` ends a streak shared by several fibers", () => {
    const { layer, lines } = logCapture()
    return Effect.gen(function* () {
      const loop = yield* Loops.make("Two fibers")
      let failing = true
      const step = Effect.suspend(() => (failing ? Effect.fail("no") : Effect.never))
      const fibers = yield* Effect.forEach([1, 2], () => Effect.fork(Effect.forever(loop.retrying(step))))
      yield* Effect.yieldNow()
      expect(loop.failures()).toBe(2)
      // The shared streak's waits grow with each failure, whichever fiber failed: tries at 0, 0, 0.1, 0.2, 0.5, 1 s.
      yield* TestClock.adjust("1 second")
      expect(loop.failures()).toBe(6)
      failing = false
      yield* loop.healthy
      expect(loop.failures()).toBe(0)
      expect(said(lines)).toEqual([
        expect.stringMatching(/^WARN Two fibers failed/),
        expect.stringMatching(/^INFO Two fibers recovered after \d+ failure\(s\)/)
      ])
      // An interruption is not a failure: the loop stops.
      yield* Fiber.interruptAll(fibers)
      expect(loop.failures()).toBe(0)
    }).pipe(Effect.provide(layer))
  })

  it.effect("`every` runs a step each interval, and after a failure retries it before the next interval", () =>
    Effect.gen(function* () {
      const runs: Array<number> = []
      let fail = 1
      const step = Effect.suspend(() =>
        Effect.flatMap(TestClock.currentTimeMillis, (now) => {
          runs.push(now)
          return fail-- > 0 ? Effect.dieMessage("once") : Effect.void
        })
      )
      const fiber = yield* Effect.fork(Loops.every("Periodic", "10 seconds", step))
      yield* TestClock.adjust("9 seconds")
      expect(runs).toEqual([])
      yield* TestClock.adjust("22 seconds")
      expect(runs).toEqual([10_000, 10_100, 20_100, 30_100])
      yield* Fiber.interrupt(fiber)
    }).pipe(Effect.provide(logCapture().layer))
  )
  it.effect("says how long a streak has gone on from its first failure, and sums it up every `summaryEvery`", () => {
    const { layer, lines } = logCapture()
    return Effect.gen(function* () {
      // The streak starts an hour in, so that its length is not the time since the clock's start.
      yield* TestClock.adjust("1 hour")
      const loop = yield* Loops.make("The feed", { initial: "30 seconds", cap: "30 seconds", summaryEvery: "1 minute" })
      let broken = true
      const fiber = yield* Effect.fork(
        loop.retrying(Effect.suspend(() => (broken ? Effect.fail("down") : Effect.void)))
      )
      yield* Effect.yieldNow()
      // Failures at 0, 30 s, 60 s: the summary comes exactly a minute after the first line.
      yield* TestClock.adjust("60 seconds")
      broken = false
      yield* TestClock.adjust("30 seconds")
      expect(lines.map((l) => [l.level, l.message, l.annotations])).toEqual([
        [
          "WARN",
          "The feed failed; trying again in 30s, then less often (at most every 30s) until it works",
          { loop: "The feed" }
        ],
        ["DEBUG", "The feed failed again (2 in a row); trying again in 30s", { loop: "The feed" }],
        [
          "WARN",
          "The feed is still failing: 3 failures in a row over 1m; trying again every 30s",
          { loop: "The feed" }
        ],
        ["INFO", "The feed recovered after 3 failure(s) over 1m 30s", { loop: "The feed", failures: 3 }]
      ])
      expect(lines[2]!.cause).toContain("down")
      expect(fiber.unsafePoll()).toEqual(Exit.void)
    }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug))
  })

  it.effect("a step that is interrupted stops the loop: it is not a failure, and nothing is logged", () => {
    const { layer, lines } = logCapture()
    return Effect.gen(function* () {
      const loop = yield* Loops.make("Interrupted")
      let tries = 0
      const exit = yield* Effect.exit(loop.retrying(Effect.suspend(() => (tries++, Effect.interrupt))))
      expect(Exit.isInterrupted(exit)).toBe(true)
      expect([tries, loop.failures(), lines]).toEqual([1, 0, []])
    }).pipe(Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug))
  })
})
