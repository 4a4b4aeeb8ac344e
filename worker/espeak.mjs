// @ts-check
// The speech engine's worker thread: eSpeak NG (WebAssembly) runs here, off the server's event loop.
// Plain JavaScript so that the same file runs under the compiled server and under the test runner.
import * as Transferable from "@effect/platform/Transferable"
import * as WorkerRunner from "@effect/platform/WorkerRunner"
import * as NodeWorkerRunner from "@effect/platform-node/NodeWorkerRunner"
import initEspeak from "@echogarden/espeak-ng-emscripten"
import { Effect, Layer } from "effect"

/** eSpeak NG's normal speaking rate, in words per minute; a request's speed multiplies it. */
const NORMAL_RATE = 175

// Engine start-up (loading ~24 MB of voice data) happens once per worker, not per segment.
const engine = await initEspeak()
const espeak = new engine.eSpeakNGWorker()
const sampleRate = espeak.get_samplerate()
// Requests name a language (`en-gb`); the engine loads a voice by its identifier (`gmw/en`): loading some
// languages by name fails (status 2), so each language is mapped to the first voice that speaks it.
/** @type {Map<string, string>} */
const voiceIds = new Map()
for (const voice of espeak.list_voices()) {
  for (const language of voice.languages)
    if (!voiceIds.has(language.name)) voiceIds.set(language.name, voice.identifier)
}
/** @type {Array<string>} */
const voices = [...voiceIds.keys()].sort()

/**
 * Selects `voice` for the next segment; answers why it cannot be used (a refusal, not a fault of the engine), or
 * `undefined`.
 * @param {string} voice
 */
const selectVoice = (voice) => {
  const id = voiceIds.get(voice)
  if (id === undefined) return `Unknown voice: ${voice}`
  const status = espeak.set_voice(id)
  return status === 0 ? undefined : `The engine could not load voice ${voice} (status ${status})`
}

/**
 * @param {string} text
 * @param {number} speed
 */
const speak = (text, speed) => {
  espeak.set_rate(Math.round(NORMAL_RATE * speed))
  /** @type {Array<Int16Array>} */
  const chunks = []
  espeak.synthesize(text, (chunk) => {
    chunks.push(chunk)
    return 0
  })
  const samples = new Int16Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const chunk of chunks) {
    samples.set(chunk, offset)
    offset += chunk.length
  }
  return { samples, sampleRate }
}

/**
 * @typedef {{ _tag: "Voices" } | { _tag: "Speak", text: string, voice: string, speed: number }} Request
 * @typedef {{ voices: Array<string> } | { samples: Int16Array, sampleRate: number }} Response
 * @param {Request} request
 * @returns {Effect.Effect<Response, { message: string }>}
 */
const handle = (request) => {
  if (request._tag === "Voices") return Effect.succeed({ voices })
  const refused = selectVoice(request.voice)
  // A throw from the engine itself (an emscripten abort()) is a defect, not a refusal: the WebAssembly instance is
  // unusable afterwards, and the main thread replaces this thread when it sees one.
  return refused === undefined
    ? Effect.sync(() => speak(request.text, request.speed))
    : Effect.fail({ message: refused })
}

const Runner = WorkerRunner.layer(handle, {
  // Hand the audio buffer over to the main thread instead of copying it.
  encodeOutput: (_, response) =>
    Effect.as(Transferable.addAll("samples" in response ? [response.samples.buffer] : []), response)
}).pipe(Layer.provide(NodeWorkerRunner.layer))

Effect.runFork(WorkerRunner.launch(Runner))
