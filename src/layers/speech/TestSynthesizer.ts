import type { Duration } from "effect"
import { Effect, Layer } from "effect"
import { SynthesisError, Synthesizer } from "../../services/Synthesizer.js"

export interface TestSynthesizerOptions {
  /** Clock time each segment takes (a `TestClock` drives it in tests); none by default. */
  readonly delay?: Duration.DurationInput
}

/** Samples per second of the test voice: low, so that files stay small. */
export const TEST_SAMPLE_RATE = 8000

/**
 * A fast, deterministic stand-in for the speech engine: a tone of 0.01 s per character, divided by the speed.
 * Text containing `[fail]` fails, so that tests can make single segments fail.
 */
export const make = (options: TestSynthesizerOptions = {}) =>
  Synthesizer.of({
    voices: ["en-gb", "en-us"],
    defaultVoice: "en-us",
    synthesize: (text, voice, speed) =>
      Effect.gen(function* () {
        if (options.delay !== undefined) yield* Effect.sleep(options.delay)
        if (text.includes("[fail]")) return yield* new SynthesisError({ message: `Could not speak: ${text}` })
        if (voice !== "en-us" && voice !== "en-gb")
          return yield* new SynthesisError({ message: `Unknown voice: ${voice}` })
        const samples = new Int16Array(Math.round((text.length * TEST_SAMPLE_RATE) / 100 / speed))
        for (let i = 0; i < samples.length; i++) samples[i] = Math.round(8000 * Math.sin(i / 4))
        return { samples, sampleRate: TEST_SAMPLE_RATE }
      })
  })

export const layer = (options: TestSynthesizerOptions = {}): Layer.Layer<Synthesizer> =>
  Layer.succeed(Synthesizer, make(options))
