import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { durationSeconds } from "../../../src/domain/Wav.js"
import * as EspeakSynthesizer from "../../../src/layers/speech/EspeakSynthesizer.js"
import * as RegistryConfig from "../../../src/services/RegistryConfig.js"
import { Synthesizer } from "../../../src/services/Synthesizer.js"

// Integration test: the real engine, in its worker thread.
describe("EspeakSynthesizer (real engine)", () => {
  it.live(
    "speaks text in a known voice, faster at a higher speed, and refuses an unknown voice",
    () =>
      Effect.gen(function* () {
        const synthesizer = yield* Synthesizer
        expect(synthesizer.voices).toEqual(expect.arrayContaining(["en-us", "en-gb", "fr", "de"]))
        const normal = yield* synthesizer.synthesize("Once upon a time, there was a small fox.", "en-us", 1)
        expect(normal.sampleRate).toBe(22050)
        expect(durationSeconds(normal)).toBeGreaterThan(1)
        expect(normal.samples.some((s) => Math.abs(s) > 1000)).toBe(true) // speech, not silence
        const fast = yield* synthesizer.synthesize("Once upon a time, there was a small fox.", "en-us", 2)
        expect(durationSeconds(fast)).toBeLessThan(durationSeconds(normal) * 0.75)
        const error = yield* Effect.flip(synthesizer.synthesize("Bonjour", "xx-nowhere", 1))
        expect(error.message).toBe("Unknown voice: xx-nowhere")
      }).pipe(Effect.provide(EspeakSynthesizer.layer.pipe(Layer.provide(RegistryConfig.layer())))),
    30_000
  )

  it.live(
    "speaks in every voice it lists (en-gb, fr-fr, pt-pt and others cannot be loaded by their language's name)",
    () =>
      Effect.gen(function* () {
        const synthesizer = yield* Synthesizer
        const failed: Array<string> = []
        for (const voice of synthesizer.voices) {
          const speech = yield* Effect.either(synthesizer.synthesize("Hello.", voice, 1))
          if (speech._tag === "Left" || durationSeconds(speech.right) === 0) failed.push(voice)
        }
        expect(failed).toEqual([])
      }).pipe(Effect.provide(EspeakSynthesizer.layer.pipe(Layer.provide(RegistryConfig.layer())))),
    60_000
  )

  it.live(
    "speaks two segments at once in two engine threads",
    () =>
      Effect.gen(function* () {
        const synthesizer = yield* Synthesizer
        const [one, two] = yield* Effect.all(
          [
            synthesizer.synthesize("The fox ran home.", "en-us", 1),
            synthesizer.synthesize("The owl flew away.", "en-us", 1)
          ],
          { concurrency: 2 }
        )
        expect(durationSeconds(one)).toBeGreaterThan(0.5)
        expect(durationSeconds(two)).toBeGreaterThan(0.5)
      }).pipe(Effect.provide(EspeakSynthesizer.layer.pipe(Layer.provide(RegistryConfig.layer({ concurrency: 2 }))))),
    30_000
  )
})
