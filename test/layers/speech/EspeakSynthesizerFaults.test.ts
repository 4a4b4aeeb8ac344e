import { describe, expect, it } from "@effect/vitest"
import { Cause, ConfigProvider, Duration, Effect, Exit, Fiber, Layer, Option, TestClock } from "effect"
import { existsSync, mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { EspeakSynthesizerOptions } from "../../../src/layers/speech/EspeakSynthesizer.js"
import * as EspeakSynthesizer from "../../../src/layers/speech/EspeakSynthesizer.js"
import * as RegistryConfig from "../../../src/services/RegistryConfig.js"
import { Synthesizer } from "../../../src/services/Synthesizer.js"

// The engine runs in worker threads, so these tests wait for real threads to start, answer and end; a test's
// deadlines are on the TestClock wherever a thread's timing does not decide the outcome. No test sets a timeout of
// its own shorter than the suite's (30 s): on a loaded machine starting a thread alone can take seconds.

/** A fake engine that hangs, throws or exits on demand (see the fixture for its markers). */
const fakeEngine = new URL("../../fixtures/fake-engine.mjs", import.meta.url)

const rule = (characters: number) => Duration.millis(1_000 + 10 * characters)

/** The engine on the fake, with `threads` engine threads (as many as `RegistryConfig`'s workers; 1 unless given). */
const withEngine = ({ threads = 1, ...options }: EspeakSynthesizerOptions = {}) =>
  Effect.provide(
    EspeakSynthesizer.layerWith({ workerUrl: fakeEngine, deadline: rule, ...options }).pipe(
      Layer.provide(RegistryConfig.layer({ concurrency: threads }))
    )
  )

/** Waits on the wall clock, for a thread's doing; the TestClock would not move it. */
const realPause = (millis: number) => Effect.promise(() => new Promise((resolve) => setTimeout(resolve, millis)))

/**
 * Waits until `condition` holds, checking every 10 ms of real time; fails after 25 s, inside the suite's 30 s test
 * timeout. What it waits for is a thread starting, which takes milliseconds on a quiet machine and seconds on a
 * loaded one: the bound is there to end a run that would never get there, not to time the thread.
 */
const eventually = (condition: () => boolean) =>
  Effect.gen(function* () {
    for (let attempt = 0; attempt < 2_500; attempt++) {
      if (condition()) return
      yield* realPause(10)
    }
    return yield* Effect.dieMessage("condition not met within 25 s")
  })

/** A file that a hanging fake engine writes heartbeats into for as long as its thread runs. */
const heartbeatFile = () => join(mkdtempSync(join(tmpdir(), "storyflow-engine-")), "beat")

/** Whether the thread beating into `file` still runs: a spinning thread rewrites the file every few microseconds. */
const stillBeating = (file: string) =>
  Effect.gen(function* () {
    const before = readFileSync(file, "utf8")
    yield* realPause(100)
    return readFileSync(file, "utf8") !== before
  })

/** The id of the engine thread that spoke `speech` (the fake fills every sample with it). */
const threadOf = (speech: { readonly samples: Int16Array }) => speech.samples[0]

const seconds = (duration: Duration.Duration) => Math.round(Duration.toMillis(duration) / 100) / 10

describe("EspeakSynthesizer with a faulty engine", () => {
  it.scoped(
    "a hung engine fails its segment exactly at the deadline, its thread is terminated, the next segment works",
    () =>
      Effect.gen(function* () {
        const synthesizer = yield* Synthesizer
        const first = yield* synthesizer.synthesize("Once upon a time.", "en-us", 1)
        const heartbeat = heartbeatFile()
        const text = `[hang:${heartbeat}] and then`
        const deadline = rule(text.length)

        const speaking = yield* Effect.fork(synthesizer.synthesize(text, "en-us", 1))
        yield* eventually(() => existsSync(heartbeat))
        expect(yield* stillBeating(heartbeat)).toBe(true)
        yield* TestClock.adjust(Duration.subtract(deadline, Duration.millis(1)))
        expect(Option.isNone(yield* Fiber.poll(speaking))).toBe(true)
        yield* TestClock.adjust("1 millis")
        const error = yield* Effect.flip(Fiber.join(speaking))
        expect(error._tag).toBe("SynthesisError")
        const segment = `a ${text.length}-character segment`
        expect(error.message).toBe(
          `The speech engine took longer than ${seconds(deadline)} s for ${segment} and was restarted`
        )
        expect(yield* stillBeating(heartbeat)).toBe(false)

        const next = yield* synthesizer.synthesize("The fox ran home.", "en-us", 1)
        expect(next.samples.length).toBe(17)
        expect(threadOf(next)).not.toBe(threadOf(first))
      }).pipe(withEngine())
  )

  it.scoped("an engine that throws (and would stay broken, as after abort()) fails its segment and is replaced", () =>
    Effect.gen(function* () {
      const synthesizer = yield* Synthesizer
      const first = yield* synthesizer.synthesize("Once upon a time.", "en-us", 1)
      const error = yield* Effect.flip(synthesizer.synthesize("[throw] a fox", "en-us", 1))
      expect(error._tag).toBe("SynthesisError")
      const reason = "Aborted(Assertion failed: speech buffer overrun)"
      expect(error.message).toBe(`The speech engine failed on a 13-character segment (${reason}) and was restarted`)
      const next = yield* synthesizer.synthesize("The fox ran home.", "en-us", 1)
      expect(threadOf(next)).not.toBe(threadOf(first))
    }).pipe(withEngine())
  )

  it.scoped("an engine thread that exits fails its segment and is replaced", () =>
    Effect.gen(function* () {
      const synthesizer = yield* Synthesizer
      const first = yield* synthesizer.synthesize("Once upon a time.", "en-us", 1)
      const error = yield* Effect.flip(synthesizer.synthesize("[exit] a fox", "en-us", 1))
      expect(error._tag).toBe("SynthesisError")
      expect(error.message).toBe(
        "The speech engine failed on a 12-character segment (exited with code 3) and was restarted"
      )
      const next = yield* synthesizer.synthesize("The fox ran home.", "en-us", 1)
      expect(threadOf(next)).not.toBe(threadOf(first))
    }).pipe(withEngine())
  )

  it.scoped("a refusal (an unknown voice) fails only its segment and keeps the engine thread", () =>
    Effect.gen(function* () {
      const synthesizer = yield* Synthesizer
      const first = yield* synthesizer.synthesize("Once upon a time.", "en-us", 1)
      const error = yield* Effect.flip(synthesizer.synthesize("Bonjour", "xx-nowhere", 1))
      expect(error.message).toBe("Unknown voice: xx-nowhere")
      const next = yield* synthesizer.synthesize("The fox ran home.", "en-us", 1)
      expect(threadOf(next)).toBe(threadOf(first))
    }).pipe(withEngine())
  )

  it.scoped(
    "a segment interrupted mid-way (a cancelled task) terminates its engine thread; the next segment gets a new one",
    () =>
      Effect.gen(function* () {
        const synthesizer = yield* Synthesizer
        const first = yield* synthesizer.synthesize("Once upon a time.", "en-us", 1)
        const heartbeat = heartbeatFile()
        const speaking = yield* Effect.fork(synthesizer.synthesize(`[hang:${heartbeat}]`, "en-us", 1))
        yield* eventually(() => existsSync(heartbeat))
        expect(Exit.isInterrupted(yield* Fiber.interrupt(speaking))).toBe(true)
        expect(yield* stillBeating(heartbeat)).toBe(false)
        const next = yield* synthesizer.synthesize("The fox ran home.", "en-us", 1)
        expect(threadOf(next)).not.toBe(threadOf(first))
      }).pipe(withEngine())
  )

  it.scoped("an engine that cannot start fails the layer with a SynthesisError, at once", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        Layer.build(
          EspeakSynthesizer.layerWith({
            workerUrl: new URL("../../fixtures/engine-that-cannot-start.mjs", import.meta.url)
          }).pipe(Layer.provide(RegistryConfig.layer({ concurrency: 1 })))
        )
      )
      expect(error._tag).toBe("SynthesisError")
      expect(error.message).toBe("The speech engine could not list its voices: voice data not found")
    })
  )
})

describe("EspeakSynthesizer threads", () => {
  // Each "[pair:…]" request answers only once another thread holds one too: two succeed only when run at once.
  const pair = (name: string) =>
    Effect.gen(function* () {
      const synthesizer = yield* Synthesizer
      return yield* Effect.all(
        [
          synthesizer.synthesize(`[pair:${name}] one`, "en-us", 1),
          synthesizer.synthesize(`[pair:${name}] two`, "en-us", 1)
        ],
        { concurrency: "unbounded", mode: "either" }
      )
    })

  it.live(
    "two engine threads speak two segments at the same time",
    () =>
      Effect.gen(function* () {
        const [one, two] = yield* pair("two-threads")
        expect(one._tag === "Right" && two._tag === "Right").toBe(true)
        if (one._tag === "Right" && two._tag === "Right") expect(threadOf(one.right)).not.toBe(threadOf(two.right))
        // The deadline only ends the run where the two never meet (one thread); starting two threads while the rest
        // of the suite runs beside it can take seconds on two cores.
      }).pipe(withEngine({ threads: 2, deadline: () => "8 seconds" })),
    20_000
  )

  it.live("one engine thread speaks one segment at a time (so the pair above proves parallelism)", () =>
    Effect.gen(function* () {
      const results = yield* pair("one-thread")
      for (const result of results) {
        expect(result._tag === "Left" ? result.left.message : "spoken").toMatch(
          /^The speech engine took longer than 0.3 s/
        )
      }
    }).pipe(withEngine({ threads: 1, deadline: () => "300 millis" }))
  )

  /** `size` "[group:…]" segments at once, padded to `length` characters: each is spoken only if `size` threads meet. */
  const group = (name: string, size: number, length: number) =>
    Effect.flatMap(Synthesizer, (synthesizer) =>
      Effect.all(
        Array.from({ length: size }, (_, i) =>
          synthesizer.synthesize(`[group:${name}:${size}] ${i}`.padEnd(length, "."), "en-us", 1)
        ),
        { concurrency: "unbounded", mode: "either" }
      )
    )

  it.live(
    "RegistryConfig.layer({ concurrency: N }) gives N engine threads, one per worker",
    () =>
      Effect.gen(function* () {
        const three = yield* group("three-of-three", 3, 20)
        expect(three.map((result) => result._tag)).toEqual(["Right", "Right", "Right"])
        expect(new Set(three.map((result) => (result._tag === "Right" ? threadOf(result.right) : 0))).size).toBe(3)
        // The three threads are running now; four segments that must meet find no fourth, and all time out.
        const four = yield* group("four-of-three", 4, 40)
        for (const result of four) {
          expect(result._tag === "Left" ? result.left.message : "spoken").toMatch(/^The speech engine took longer/)
        }
      }).pipe(
        Effect.provide(
          EspeakSynthesizer.layerWith({
            workerUrl: fakeEngine,
            // Long for the first group: starting threads while the rest of the suite runs can take seconds.
            deadline: (characters) => (characters < 30 ? "8 seconds" : "500 millis")
          }).pipe(Layer.provide(RegistryConfig.layer({ concurrency: 3 })))
        )
      ),
    30_000
  )

  it.live("with 0 workers one engine thread still starts, so that the voices are listed and a segment is spoken", () =>
    Effect.gen(function* () {
      const synthesizer = yield* Synthesizer
      expect(synthesizer.voices).toContain("en-us")
      expect(threadOf(yield* synthesizer.synthesize("Once upon a time.", "en-us", 1))).toBeGreaterThan(0)
    }).pipe(withEngine({ threads: 0 }))
  )

  it.live(
    "the default layer runs TASK_CONCURRENCY engine threads, and refuses a negative count",
    () =>
      Effect.gen(function* () {
        const fromEnv = (value: string) =>
          RegistryConfig.layerConfig.pipe(
            Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["TASK_CONCURRENCY", value]]))))
          )
        const engine = EspeakSynthesizer.layerWith({ workerUrl: fakeEngine, deadline: () => "8 seconds" })
        const [one, two] = yield* pair("from-env").pipe(Effect.provide(engine.pipe(Layer.provide(fromEnv("2")))))
        expect([one._tag, two._tag]).toEqual(["Right", "Right"])
        const error = yield* Effect.flip(Layer.build(engine.pipe(Layer.provide(fromEnv("-1")))))
        expect(String(error)).toContain("TASK_CONCURRENCY must be a whole number, 0 or more")
        // Given in code rather than read, a negative count is a defect.
        const given = yield* Effect.exit(
          Layer.build(engine.pipe(Layer.provide(RegistryConfig.layer({ concurrency: -1 }))))
        )
        expect(Exit.isFailure(given) && Cause.isDie(given.cause)).toBe(true)
      }).pipe(Effect.scoped),
    // Starting engine threads while the rest of the suite runs beside it can take seconds on two cores.
    30_000
  )

  it("gives a long segment more time than a short one, and the longest (5,000 characters) under a minute", () => {
    const millis = (characters: number) => Duration.toMillis(EspeakSynthesizer.defaultDeadline(characters))
    expect(millis(400)).toBeGreaterThan(millis(10))
    expect(millis(5_000)).toBeLessThan(60_000)
  })
})
