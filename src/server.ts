// `storyflow-tasks/server`: the HTTP service and the narration it runs. Kept apart from the main entry so that a
// library user loads neither the server nor the GPL speech engine.

/** The whole server as `npm start` runs it; `servicesWith(engine)` + `HttpAppLive` to compose your own. */
export { ServerLive, servicesWith } from "./App.js"
/** The node HTTP listener: answers 503 until the app is attached, cuts slow clients off, bounds shutdown. */
export * as Listener from "./http/transport/Listener.js"
/** The HTTP API definition (endpoints and wire schemas), for clients derived with `HttpApiClient`. */
export { Api } from "./http/api/Api.js"
/** The routes, docs and error handling, for whatever services and `HttpServer` are provided. */
export { HttpAppLive } from "./http/HttpApp.js"

/** Narration, the kind of task the server runs: a batch of segments to speak, with a voice and a speed. */
export { Narration, NarrationPayload, NarrationSegment } from "./domain/Narration.js"
/** The narration handler (needs a `Synthesizer` and an `AudioStore`), and where a segment's audio is served. */
export * as NarrationHandler from "./layers/speech/NarrationHandler.js"

/** The speech engine service, and its error. */
export { SynthesisError, Synthesizer } from "./services/Synthesizer.js"
/** Where generated audio files live, and its errors. */
export { AudioNotFound, AudioStore, AudioStoreError } from "./services/AudioStore.js"
/** WAV files in a directory: `layer(root)` in code, `layerConfig` under `AUDIO_DIR`. */
export * as AudioStoreFs from "./layers/audio/AudioStoreFs.js"
/** The server's task ids: signed under `TASK_ID_SECRET`, or under a key kept in `AUDIO_DIR/.task-id-secret`. */
export * as TaskIdKeyFile from "./layers/ids/TaskIdKeyFile.js"
/** 16-bit mono PCM audio and its WAV encoding. */
export { decodeWav, durationSeconds, encodeWav, type Speech } from "./domain/Wav.js"
/** eSpeak NG in worker threads, one per worker (`RegistryConfig.concurrency`): the default speech engine (GPL-3.0). */
export * as EspeakSynthesizer from "./layers/speech/EspeakSynthesizer.js"
/** A fast deterministic speech engine for tests. */
export * as TestSynthesizer from "./layers/speech/TestSynthesizer.js"
