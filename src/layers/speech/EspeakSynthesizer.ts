import { NodeWorker } from "@effect/platform-node"
import { Duration, Effect, Layer } from "effect"
import type { Speech } from "../../domain/Wav.js"
import { RegistryConfig } from "../../services/RegistryConfig.js"
import { SynthesisError, Synthesizer } from "../../services/Synthesizer.js"
import * as EngineThreads from "./EngineThreads.js"

type Request =
  | { readonly _tag: "Voices" }
  | { readonly _tag: "Speak"; readonly text: string; readonly voice: string; readonly speed: number }
type Response = { readonly voices: ReadonlyArray<string> } | Speech

export const DEFAULT_VOICE = "en-us"

/**
 * How long a segment may take before its engine thread is presumed hung: 5 s, plus 10 ms per character.
 * Measured on a 2-core machine, eSpeak takes at most ~0.4 ms per character (digits at half speed; ordinary prose
 * 0.05–0.2 ms) and ~0.15 s for its first segment, so the rule leaves a margin of 25× or more for slower
 * machines and busy CPUs, while a hung engine is still noticed within a minute for the longest segment (5,000
 * characters: 55 s).
 */
export const defaultDeadline = (characters: number): Duration.Duration => Duration.millis(5_000 + 10 * characters)

export interface EspeakSynthesizerOptions {
  /** The engine's worker script (a `WorkerRunner` speaking `Request`); tests point it at fake engines. */
  readonly workerUrl?: URL
  /**
   * Engine threads, one per task that may run at once; 1 unless given. The layers give `RegistryConfig`'s
   * `concurrency` (`TASK_CONCURRENCY`), the number of workers. With 0, one thread still starts, to list the voices
   * (see `make`).
   */
  readonly threads?: number
  /** How long a segment of `characters` may take; `defaultDeadline` unless given. */
  readonly deadline?: (characters: number) => Duration.DurationInput
  /** How long an engine thread may take to start; 60 s unless given (eSpeak starts in well under a second). */
  readonly startTimeout?: Duration.DurationInput
}

/** Resolves from `src/layers` and from `dist/layers` alike. */
const espeakWorkerUrl = new URL("../../../worker/espeak.mjs", import.meta.url)

const seconds = (duration: Duration.Duration) => Math.round(Duration.toMillis(duration) / 100) / 10

type EngineError =
  | EngineThreads.EngineTimeout
  | EngineThreads.EngineCrash
  | EngineThreads.EngineUnavailable
  | { readonly message: string }

/** Says what went wrong with a segment, as a person reading the task's errors needs it said. */
const segmentError = (characters: number) => (error: EngineError) => {
  const segment = `a ${characters}-character segment`
  if (error instanceof EngineThreads.EngineTimeout) {
    const limit = seconds(error.deadline)
    return new SynthesisError({
      message: `The speech engine took longer than ${limit} s for ${segment} and was restarted`
    })
  }
  if (error instanceof EngineThreads.EngineCrash) {
    return new SynthesisError({ message: `The speech engine failed on ${segment} (${error.reason}) and was restarted` })
  }
  if (error instanceof EngineThreads.EngineUnavailable) {
    return new SynthesisError({ message: `The speech engine could not start (${error.reason})` })
  }
  // The worker's own refusals (an unknown voice) are said as they are.
  return new SynthesisError({ message: error.message })
}

const startError = (error: EngineError) =>
  new SynthesisError({
    message: `The speech engine could not list its voices: ${
      error instanceof EngineThreads.EngineTimeout
        ? `no answer within ${seconds(error.deadline)} s`
        : "reason" in error
          ? error.reason
          : error.message
    }`
  })

/**
 * eSpeak NG compiled to WebAssembly, in worker threads so that synthesis never blocks the event loop: one thread
 * per task that may run at once, each segment with a deadline that grows with its text. A thread that misses its
 * deadline, crashes or throws (an emscripten `abort()` leaves the engine unusable) is terminated and replaced; the
 * segment fails with a `SynthesisError` and the next one gets a fresh engine.
 *
 * One thread starts with the layer, to list the voices (the API checks requests against them even in a process
 * that runs no tasks) and so that an engine that cannot start fails start-up rather than the first segment; it is
 * kept for the first segment. The other threads start when they are first needed. With `threads: 0` that first
 * thread is the only one, kept so that a caller that synthesizes anyway is served.
 */
export const make = (options: EspeakSynthesizerOptions = {}) =>
  Effect.gen(function* () {
    const threads = options.threads ?? 1
    if (!Number.isSafeInteger(threads) || threads < 0) {
      return yield* Effect.dieMessage(`The speech engine's thread count must be a whole number, 0 or more: ${threads}`)
    }
    const deadline = (characters: number) => Duration.decode((options.deadline ?? defaultDeadline)(characters))
    const engine = yield* EngineThreads.make<Request, Response, { readonly message: string }>({
      workerUrl: options.workerUrl ?? espeakWorkerUrl,
      threads: Math.max(1, threads),
      startTimeout: options.startTimeout ?? "60 seconds"
    })
    const listed = yield* engine.execute({ _tag: "Voices" }, deadline(0)).pipe(Effect.mapError(startError))
    const voices = "voices" in listed ? listed.voices : []
    if (!voices.includes(DEFAULT_VOICE)) {
      return yield* Effect.dieMessage(`The speech engine has no ${DEFAULT_VOICE} voice`)
    }
    const synthesize = Effect.fn("Synthesizer.synthesize")(function* (text: string, voice: string, speed: number) {
      const response = yield* engine
        .execute({ _tag: "Speak", text, voice, speed }, deadline(text.length))
        .pipe(Effect.mapError(segmentError(text.length)))
      if (!("samples" in response))
        return yield* new SynthesisError({ message: "The speech engine answered without audio" })
      return response
    })
    return Synthesizer.of({ voices, defaultVoice: DEFAULT_VOICE, synthesize })
  })

/**
 * The engine with `options` (given in code), one thread per worker: the thread count is `RegistryConfig`'s
 * `concurrency`, so that `TASK_CONCURRENCY` (or `RegistryConfig.layer({ concurrency })`) sets both from one value.
 */
export const layerWith = (
  options: Omit<EspeakSynthesizerOptions, "threads"> = {}
): Layer.Layer<Synthesizer, SynthesisError, RegistryConfig> =>
  Layer.scoped(
    Synthesizer,
    Effect.flatMap(RegistryConfig, ({ concurrency }) => make({ ...options, threads: concurrency }))
  ).pipe(Layer.provide(NodeWorker.layerManager))

/** The real engine, one thread per worker (`RegistryConfig`'s `concurrency`). */
export const layer: Layer.Layer<Synthesizer, SynthesisError, RegistryConfig> = layerWith()
