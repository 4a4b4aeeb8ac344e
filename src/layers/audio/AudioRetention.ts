import type { ConfigError } from "effect"
import { Clock, Duration, Effect, Layer, Option, Schedule, Schema } from "effect"
import { isActive } from "../../domain/Task.js"
import { TaskId } from "../../domain/TaskId.js"
import { AudioStore } from "../../services/AudioStore.js"
import type { AudioRetentionConfig } from "../../services/Settings.js"
import * as Settings from "../../services/Settings.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"

const decodeTaskId = Schema.decodeUnknownOption(TaskId)

export type { AudioRetentionConfig } from "../../services/Settings.js"

/** The embedded defaults, as listed in the README. */
export const defaults: AudioRetentionConfig = Settings.audioRetentionDefaults

/**
 * Applies the retention policy once: removes the audio of every task past `retention` since its last write, then,
 * while the store is over `maxBytes`, the least recently written task's audio. The audio of a task that is still
 * PENDING or PROCESSING is never removed. Answers the tasks whose audio went.
 */
export const prune = (config: AudioRetentionConfig) =>
  Effect.gen(function* () {
    const store = yield* AudioStore
    const registry = yield* TaskRegistry
    const now = yield* Clock.currentTimeMillis
    const retentionMs = Duration.toMillis(config.retention)
    let { bytes } = yield* store.usage
    const removed: Array<string> = []
    for (const holding of yield* store.holdings) {
      const expired = retentionMs > 0 && now - holding.lastWrite > retentionMs
      const overBudget = config.maxBytes > 0 && bytes > config.maxBytes
      // Oldest first: once neither rule applies to this one, none applies to a newer one.
      if (!expired && !overBudget) break
      // A directory that is not a task's was not written by the store: never touched.
      const id = decodeTaskId(holding.taskId)
      if (Option.isNone(id)) continue
      const keep = yield* registry.get(id.value).pipe(
        Effect.map(isActive),
        Effect.catchTags({ TaskNotFound: () => Effect.succeed(false), TaskExpired: () => Effect.succeed(false) }),
        // A store that cannot be asked might hold the task as active: keep its audio until it can.
        Effect.orElseSucceed(() => true)
      )
      if (keep) continue
      const freed = yield* store.remove(holding.taskId).pipe(
        Effect.tapError((e) => Effect.logWarning(`Could not remove a task's audio: ${e.message}`)),
        Effect.orElseSucceed(() => 0)
      )
      bytes -= freed
      removed.push(holding.taskId)
    }
    if (removed.length > 0) {
      yield* Effect.logInfo(`Removed the audio of ${removed.length} finished task(s)`).pipe(
        Effect.annotateLogs({ removed: removed.length, audioBytes: bytes })
      )
    }
    return removed
  })

/** Applies the policy every `interval`, in the layer's scope. */
export const layer = (config: AudioRetentionConfig): Layer.Layer<never, never, AudioStore | TaskRegistry> =>
  Layer.scopedDiscard(
    prune(config).pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("Audio retention failed; it runs again later", cause)),
      Effect.schedule(Schedule.spaced(config.interval)),
      Effect.forkScoped
    )
  )

/** The policy read from `AUDIO_RETENTION` and `AUDIO_MAX_BYTES`. */
export const layerConfig: Layer.Layer<never, ConfigError.ConfigError, AudioStore | TaskRegistry> = Layer.unwrapEffect(
  Effect.map(Settings.audioRetention, layer)
)
