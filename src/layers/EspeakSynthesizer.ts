import { Worker } from "@effect/platform"
import type { WorkerError } from "@effect/platform/WorkerError"
import { NodeWorker } from "@effect/platform-node"
import { Effect, Layer, Predicate } from "effect"
import * as WorkerThreads from "node:worker_threads"
import type { Speech } from "../domain/Wav.js"
import { SynthesisError, Synthesizer } from "../services/Synthesizer.js"

type Request =
  | { readonly _tag: "Voices" }
  | { readonly _tag: "Speak"; readonly text: string; readonly voice: string; readonly speed: number }
type Response = { readonly voices: ReadonlyArray<string> } | Speech

/** Resolves from `src/layers` and from `dist/layers` alike. */
const workerUrl = new URL("../../worker/espeak.mjs", import.meta.url)

export const DEFAULT_VOICE = "en-us"

const toSynthesisError = (e: WorkerError | { readonly message: string }) =>
  new SynthesisError({
    // The worker's own refusals (an unknown voice) are said as they are; a crash of the worker is not.
    message: Predicate.isTagged(e, "WorkerError") ? `The speech engine failed: ${e.message}` : e.message
  })

/**
 * eSpeak NG compiled to WebAssembly, running in one worker thread so that synthesis never blocks the event loop.
 * The worker starts with the layer and is terminated when the layer's scope closes.
 */
export const make = Effect.gen(function* () {
  const pool = yield* Worker.makePool<Request, Response, { readonly message: string }>({ size: 1 })
  const started = yield* pool.executeEffect({ _tag: "Voices" }).pipe(Effect.mapError(toSynthesisError))
  const voices = "voices" in started ? started.voices : []
  if (!voices.includes(DEFAULT_VOICE)) {
    return yield* Effect.dieMessage(`The speech engine has no ${DEFAULT_VOICE} voice`)
  }
  const synthesize = (text: string, voice: string, speed: number) =>
    pool.executeEffect({ _tag: "Speak", text, voice, speed }).pipe(
      Effect.flatMap((response) =>
        "samples" in response
          ? Effect.succeed(response)
          : Effect.fail(new SynthesisError({ message: "The speech engine answered without audio" }))
      ),
      Effect.mapError((e) => (e instanceof SynthesisError ? e : toSynthesisError(e)))
    )
  return Synthesizer.of({ voices, defaultVoice: DEFAULT_VOICE, synthesize })
})

export const layer: Layer.Layer<Synthesizer, WorkerError | SynthesisError> = Layer.scoped(Synthesizer, make).pipe(
  Layer.provide(NodeWorker.layer(() => new WorkerThreads.Worker(workerUrl)))
)
