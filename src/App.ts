import { NodeContext } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { Narration } from "./domain/Narration.js"
import { HttpAppLive } from "./http/HttpApp.js"
import * as Listener from "./http/transport/Listener.js"
import * as AudioLedgerMemory from "./layers/audio/AudioLedgerMemory.js"
import * as AudioLedgerRedis from "./layers/audio/AudioLedgerRedis.js"
import * as AudioRetention from "./layers/audio/AudioRetention.js"
import * as AudioStoreFs from "./layers/audio/AudioStoreFs.js"
import * as EspeakSynthesizer from "./layers/speech/EspeakSynthesizer.js"
import * as Logging from "./layers/observability/Logging.js"
import * as NarrationHandler from "./layers/speech/NarrationHandler.js"
import * as ShutdownReport from "./layers/registry/ShutdownReport.js"
import * as RegistryMetrics from "./layers/observability/RegistryMetrics.js"
import * as TaskIdKeyFile from "./layers/ids/TaskIdKeyFile.js"
import * as TaskRegistryMemory from "./layers/registry/TaskRegistryMemory.js"
import * as TaskRegistryRedis from "./layers/redis/TaskRegistryRedis.js"
import * as TaskWorkers from "./layers/registry/TaskWorkers.js"
import * as RedisConfig from "./services/RedisConfig.js"
import * as RegistryConfig from "./services/RegistryConfig.js"
import * as Settings from "./services/Settings.js"
import type { Synthesizer } from "./services/Synthesizer.js"

// The composition root: the one module that chooses implementations.

/**
 * The registry `TASK_STORE` names, with its sweep fiber. Task ids are signed under `TASK_ID_SECRET` or the key kept
 * in `AUDIO_DIR`, so that ids from before a restart (or from another process on the same Redis) answer 410 rather
 * than 404. Beside it, the audio ledger: in Redis with the registry, so that processes sharing it and one
 * `AUDIO_DIR` share one count; in memory otherwise.
 */
const registryLayer = Layer.unwrapEffect(
  Effect.map(Settings.taskStore, (store) =>
    store === "redis"
      ? AudioLedgerRedis.layer.pipe(
          Layer.provideMerge(TaskRegistryRedis.layerWithTaskIds),
          Layer.provideMerge(Layer.mergeAll(RegistryConfig.layerConfig, RedisConfig.layerConfig))
        )
      : AudioLedgerMemory.layer.pipe(
          Layer.provideMerge(TaskRegistryMemory.layerWithTaskIds),
          // In memory, `TASK_CONCURRENCY=0` is refused: no other process could run this one's tasks.
          Layer.provideMerge(Layer.effect(RegistryConfig.RegistryConfig, Settings.registryInMemory))
        )
  )
).pipe(Layer.provide(TaskIdKeyFile.layerConfig))

/**
 * Everything the HTTP handlers use, configured from the environment, with the given speech engine: the registry
 * that `TASK_STORE` names, `TASK_CONCURRENCY` workers that narrate, and the audio store under `AUDIO_DIR`. The
 * engine may use the registry's `RegistryConfig` (the eSpeak engine runs one thread per worker).
 * Built in dependency order, so that on shutdown the workers stop (their tasks end CANCELLED in memory, and go back to
 * PENDING on Redis for another process) before the engine and the store they use are closed.
 */
export const servicesWith = <E>(synthesizer: Layer.Layer<Synthesizer, E, RegistryConfig.RegistryConfig>) => {
  // The files under `AUDIO_DIR`, kept within `AUDIO_RETENTION` and `AUDIO_MAX_BYTES` as they are written, counted
  // where the registry is kept: in memory for one process, in Redis for every process sharing the registry.
  const store = AudioRetention.layerConfig.pipe(Layer.provide(AudioStoreFs.layerConfig))
  const audio = Layer.mergeAll(synthesizer, store)
  const workers = TaskWorkers.layer(Narration).pipe(
    Layer.provide(NarrationHandler.layer),
    // Below the workers, so that it closes after them and can say what became of the tasks they were running.
    Layer.provide(Layer.unwrapEffect(Effect.map(Settings.taskStore, ShutdownReport.layer)))
  )
  return Layer.mergeAll(workers, RegistryMetrics.layer).pipe(
    Layer.provideMerge(audio),
    Layer.provideMerge(registryLayer),
    Layer.provide(NodeContext.layer)
  )
}

/**
 * The whole server: real speech, configuration from the environment, listening on `HOST`:`PORT`. Every service is
 * built before the port opens (the outer `provide` is built first), so a request never waits on the speech engine;
 * the listener answers 503 in the moment between the port opening and the routes being attached.
 */
export const ServerLive = HttpAppLive.pipe(
  Layer.provide(Listener.layerConfig),
  Layer.provide(servicesWith(EspeakSynthesizer.layer)),
  // Provided last, so built first: every other layer, and every fiber they fork, logs in the `LOG_FORMAT` chosen.
  Layer.provide(Logging.layerConfig)
)
