import type { Effect } from "effect"
import { Context, Data } from "effect"
import type { Speech } from "../domain/Wav.js"

/** The engine could not speak this text. */
export class SynthesisError extends Data.TaggedError("SynthesisError")<{ readonly message: string }> {}

/** Turns text into speech. */
export class Synthesizer extends Context.Tag("storyflow/Synthesizer")<
  Synthesizer,
  {
    /** The voices `synthesize` accepts, such as `en-us`. */
    readonly voices: ReadonlyArray<string>
    /** The voice used when a request names none. */
    readonly defaultVoice: string
    /** `speed` is a factor of the engine's normal rate, 0.5 to 2. */
    readonly synthesize: (text: string, voice: string, speed: number) => Effect.Effect<Speech, SynthesisError>
  }
>() {}
