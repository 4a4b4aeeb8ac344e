import type { ConfigError } from "effect"
import { Clock, Duration, Effect, Layer, Option, Ref, Schema } from "effect"
import { isActive } from "../../domain/Task.js"
import { TaskId } from "../../domain/TaskId.js"
import type { Speech } from "../../domain/Wav.js"
import { wavBytes } from "../../domain/Wav.js"
import type { AudioHolding } from "../../services/AudioStore.js"
import { AudioStore, AudioStoreError } from "../../services/AudioStore.js"
import type { AudioRetentionConfig } from "../../services/Settings.js"
import * as Settings from "../../services/Settings.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import * as Loops from "../registry/Loops.js"

const decodeTaskId = Schema.decodeUnknownOption(TaskId)

export type { AudioRetentionConfig } from "../../services/Settings.js"

/** The embedded defaults, as listed in the README. */
export const defaults: AudioRetentionConfig = Settings.audioRetentionDefaults

/**
 * The retention policy over a store: `write` keeps the store within `maxBytes` as it writes, and `prune` removes
 * what is past `retention` (and, in case a budget was lowered, what is over it). Both remove the least recently
 * written finished task's audio first, and never the audio of a task that is PENDING or PROCESSING.
 *
 * One lock orders every decision to remove, so that two writers never both count the same free space, and the
 * total each decision reads is the store's running count at that moment (never one read at the start of a pass,
 * which misses what is written meanwhile).
 */
export const make = (config: AudioRetentionConfig) =>
  Effect.gen(function* () {
    const store = yield* AudioStore
    const registry = yield* TaskRegistry
    const lock = yield* Effect.makeSemaphore(1)
    // Bytes of segments admitted and not yet written: the next writer makes room for them too.
    const admitted = yield* Ref.make(0)
    const retentionMs = Duration.toMillis(config.retention)
    const { maxBytes } = config
    const bytesHeld = Effect.map(store.usage, (usage) => usage.bytes)

    /**
     * Whether the task may have its audio removed: it has finished, or the registry no longer holds it (evicted, or
     * from before a restart: a task the registry does not hold is not running anywhere that uses it). A store that
     * cannot be asked might hold the task as active: its audio is kept until it can.
     */
    const finished = (taskId: TaskId) =>
      registry.get(taskId).pipe(
        Effect.map((task) => !isActive(task)),
        Effect.catchTags({
          TaskNotFound: () => Effect.succeed(true),
          TaskExpired: () => Effect.succeed(true),
          TaskNoLongerHeld: () => Effect.succeed(true)
        }),
        Effect.orElseSucceed(() => false)
      )

    /** Removes the holding's audio if its task has finished; answers whether it did. */
    const removeIfFinished = (holding: AudioHolding) =>
      Effect.gen(function* () {
        // A directory that is not a task's was not written by the store: never touched.
        const id = decodeTaskId(holding.taskId)
        if (Option.isNone(id) || !(yield* finished(id.value))) return false
        return yield* store.remove(holding.taskId).pipe(
          Effect.as(true),
          Effect.tapError((e) => Effect.logWarning(`Could not remove a task's audio: ${e.message}`)),
          Effect.orElseSucceed(() => false)
        )
      })

    const prune = lock.withPermits(1)(
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const removed: Array<string> = []
        for (const holding of yield* store.holdings) {
          const expired = retentionMs > 0 && now - holding.lastWrite > retentionMs
          const overBudget = maxBytes > 0 && (yield* bytesHeld) > maxBytes
          // Oldest first: once neither rule applies to this one, none applies to a newer one.
          if (!expired && !overBudget) break
          if (yield* removeIfFinished(holding)) removed.push(holding.taskId)
        }
        if (removed.length > 0) {
          yield* Effect.logInfo(`Removed the audio of ${removed.length} finished task(s)`).pipe(
            Effect.annotateLogs({ removed: removed.length, audioBytes: yield* bytesHeld })
          )
        }
        return removed
      })
    )

    /**
     * Before a segment of `size` bytes is written: removes finished tasks' audio, oldest first, until what is held,
     * what other writers are about to write and this segment fit in the budget. If only running tasks' audio is left
     * and the store is already over the budget, the segment is refused: the store then never holds more than the
     * budget plus the one segment each writer had in hand when it last fitted.
     */
    const admit = (size: number) =>
      lock.withPermits(1)(
        Effect.gen(function* () {
          const fits = Effect.zipWith(
            bytesHeld,
            Ref.get(admitted),
            (held, pending) => held + pending + size <= maxBytes
          )
          let removed = 0
          if (!(yield* fits)) {
            for (const holding of yield* store.holdings) {
              if (yield* removeIfFinished(holding)) removed++
              if (yield* fits) break
            }
          }
          const held = yield* bytesHeld
          if (removed > 0) {
            yield* Effect.logInfo(
              `Removed the audio of ${removed} finished task(s) to stay within AUDIO_MAX_BYTES`
            ).pipe(Effect.annotateLogs({ removed, audioBytes: held }))
          }
          if (held > maxBytes) {
            return yield* new AudioStoreError({
              message:
                `The audio budget (AUDIO_MAX_BYTES, ${maxBytes} bytes) is taken by tasks still running; ` +
                "this segment was not written"
            })
          }
          yield* Ref.update(admitted, (n) => n + size)
        })
      )

    const write = (taskId: TaskId, segmentId: string, speech: Speech) => {
      if (maxBytes === 0) return store.write(taskId, segmentId, speech)
      const size = wavBytes(speech)
      return Effect.acquireUseRelease(
        admit(size),
        () => store.write(taskId, segmentId, speech),
        () => Ref.update(admitted, (n) => n - size)
      )
    }

    return { store: AudioStore.of({ ...store, write }), prune }
  })

/**
 * Applies the policy once to the store as it is: removes the audio of every finished task past `retention` since its
 * last write, then, while the store is over `maxBytes`, the least recently written finished task's audio. Answers the
 * tasks whose audio went.
 */
export const prune = (config: AudioRetentionConfig) => Effect.flatMap(make(config), (policy) => policy.prune)

/**
 * The store under the policy: writes keep within the budget, and the policy is applied every `interval` in the
 * layer's scope. Provide it over the store that holds the files.
 */
export const layer = (config: AudioRetentionConfig): Layer.Layer<AudioStore, never, AudioStore | TaskRegistry> =>
  Layer.scoped(
    AudioStore,
    Effect.gen(function* () {
      const policy = yield* make(config)
      // A run that fails is tried again with the loops' back-off, logged once per streak.
      yield* Loops.every("Audio retention", config.interval, policy.prune).pipe(Effect.forkScoped)
      return policy.store
    })
  )

/** The policy read from `AUDIO_RETENTION` and `AUDIO_MAX_BYTES`. */
export const layerConfig: Layer.Layer<AudioStore, ConfigError.ConfigError, AudioStore | TaskRegistry> =
  Layer.unwrapEffect(Effect.map(Settings.audioRetention, layer))
