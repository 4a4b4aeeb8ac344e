import type { ConfigError } from "effect"
import { Clock, Duration, Effect, Exit, Layer, Schedule } from "effect"
import type { RegistryUnavailable } from "../../domain/Errors.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { Speech } from "../../domain/Wav.js"
import { wavBytes } from "../../domain/Wav.js"
import { AudioLedger } from "../../services/AudioLedger.js"
import { AudioStore, AudioStoreError } from "../../services/AudioStore.js"
import type { AudioRetentionConfig } from "../../services/Settings.js"
import * as Settings from "../../services/Settings.js"
import * as Loops from "../registry/Loops.js"

export type { AudioRetentionConfig } from "../../services/Settings.js"

/** The embedded defaults, as listed in the README. */
export const defaults: AudioRetentionConfig = Settings.audioRetentionDefaults

/** How long a writer waits, in all, for removals under way to make room for its segment. */
const BUSY_FOR = Duration.seconds(10)

/**
 * The retention policy over a store, with the accounting that `AudioLedger` keeps (for one process, or for every
 * process sharing the directory): `write` keeps the directory within the budget as it writes, and `prune` removes
 * what is past `retention` (and, in case a budget was lowered, what is over it). Both remove the least recently
 * written finished task's audio first, and never the audio of a task that is PENDING or PROCESSING: the ledger picks
 * what goes, in one atomic step with the count it reads, so that two writers never both count the same free space.
 */
export const make = (config: AudioRetentionConfig) =>
  Effect.gen(function* () {
    const store = yield* AudioStore
    const ledger = yield* AudioLedger
    const retentionMs = Duration.toMillis(config.retention)
    // Waits for other writers' removals are real time, whatever clock the registry keeps.
    const live = Clock.make()

    const budget = yield* ledger
      .budget(config.maxBytes)
      .pipe(
        Effect.catchTag("RegistryUnavailable", (e) =>
          Effect.as(Effect.logWarning(`Could not read the shared audio budget: ${e.message}`), config.maxBytes)
        )
      )
    if (budget !== config.maxBytes) {
      yield* Effect.logWarning(
        `The audio directory's budget is kept with the registry, and every process applies it: AUDIO_MAX_BYTES ` +
          `${budget} (this process: ${config.maxBytes}). To change it, see "Scale out" in the README`
      )
    }

    /** Removes the audio the ledger picked, then says it is gone; answers the tasks whose audio went. */
    const removeAll = (victims: ReadonlyArray<string>) =>
      Effect.filter(victims, (taskId) =>
        store.remove(taskId).pipe(
          Effect.zipRight(ledger.release(taskId)),
          Effect.as(true),
          Effect.tapError((e) => Effect.logWarning(`Could not remove a task's audio: ${e.message}`)),
          Effect.orElseSucceed(() => false)
        )
      )

    const unavailable = (segmentId: string) => (e: RegistryUnavailable) =>
      new AudioStoreError({
        message: `The audio budget cannot be checked, so segment ${segmentId} was not written: ${e.message}`
      })

    /**
     * Reserves room for a segment: removes what the ledger picked, and while other writers' removals are under way,
     * tries again shortly. Refused when running tasks' audio alone is over the budget.
     */
    const admit = (taskId: TaskId, segmentId: string, size: number) =>
      Effect.gen(function* () {
        const deadline = live.unsafeCurrentTimeMillis() + Duration.toMillis(BUSY_FOR)
        for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
          const admission = yield* ledger.reserve(taskId, size).pipe(Effect.mapError(unavailable(segmentId)))
          const removed = yield* removeAll(admission.victims)
          if (removed.length > 0) {
            yield* Effect.logInfo(
              `Removed the audio of ${removed.length} finished task(s) to stay within AUDIO_MAX_BYTES`
            ).pipe(Effect.annotateLogs({ removed: removed.length }))
          }
          switch (admission._tag) {
            case "Admitted":
              return admission.token
            case "Full":
              return yield* new AudioStoreError({
                message:
                  `The audio budget (AUDIO_MAX_BYTES, ${admission.maxBytes} bytes) is taken by tasks still running; ` +
                  `segment ${segmentId} was not written`
              })
            case "Busy":
              if (live.unsafeCurrentTimeMillis() >= deadline) {
                return yield* new AudioStoreError({
                  message: `No room in the audio budget within ${Duration.format(BUSY_FOR)}: segment ${segmentId} was not written`
                })
              }
              yield* Effect.sleep(Duration.millis(wait)).pipe(Effect.withClock(live))
          }
        }
      })

    const write = (taskId: TaskId, segmentId: string, speech: Speech) => {
      const size = wavBytes(speech)
      return Effect.acquireUseRelease(
        admit(taskId, segmentId, size),
        (token) =>
          Effect.flatMap(store.write(taskId, segmentId, speech), (seconds) =>
            Clock.currentTimeMillis.pipe(
              Effect.flatMap((now) => ledger.commit(token, taskId, segmentId, size, now)),
              Effect.mapError(unavailable(segmentId)),
              Effect.as(seconds)
            )
          ),
        // A reservation whose segment was not written is given back (a commit ends it too: this then does nothing).
        (token, exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.ignore(ledger.cancel(token)))
      )
    }

    const prune = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const cutoff = retentionMs > 0 ? now - retentionMs : Number.MIN_SAFE_INTEGER
      const removed: Array<string> = []
      for (;;) {
        const victims = yield* ledger.pick(cutoff, PICK_BATCH)
        removed.push(...(yield* removeAll(victims)))
        if (victims.length < PICK_BATCH) break
      }
      if (removed.length > 0) {
        yield* Effect.logInfo(`Removed the audio of ${removed.length} finished task(s)`).pipe(
          Effect.annotateLogs({ removed: removed.length })
        )
      }
      return removed
    })

    /** Counts what the directory holds and the ledger does not know of (audio from before it, or a lost Redis). */
    const reconcile = Effect.flatMap(store.scan, ledger.reconcile)

    const remove = (taskId: string) =>
      Effect.gen(function* () {
        const fail = (e: RegistryUnavailable) => new AudioStoreError({ message: e.message })
        yield* ledger.take(taskId).pipe(Effect.mapError(fail))
        const freed = yield* store.remove(taskId)
        yield* ledger.release(taskId).pipe(Effect.mapError(fail))
        return freed
      })

    return {
      store: AudioStore.of({ ...store, write, remove, usage: ledger.usage, holdings: ledger.holdings }),
      prune,
      reconcile
    }
  })

/** Tasks picked for removal per step of a prune. */
const PICK_BATCH = 100

/**
 * Applies the policy once to the store as it is: removes the audio of every finished task past `retention` since its
 * last write, then, while the store is over `maxBytes`, the least recently written finished task's audio. Answers the
 * tasks whose audio went.
 */
export const prune = (config: AudioRetentionConfig) =>
  Effect.flatMap(make(config), (policy) => Effect.zipRight(policy.reconcile, policy.prune))

/**
 * The store under the policy: writes keep within the budget, and the policy is applied every `interval` in the
 * layer's scope. Provide it over the store that holds the files.
 */
export const layer = (config: AudioRetentionConfig): Layer.Layer<AudioStore, never, AudioStore | AudioLedger> =>
  Layer.scoped(
    AudioStore,
    Effect.gen(function* () {
      const policy = yield* make(config)
      // In the background, so that a large AUDIO_DIR does not hold up start-up; meanwhile writes are counted.
      yield* policy.reconcile.pipe(
        Effect.tapError((e) => Effect.logWarning(`Could not count the audio on disk; trying again: ${e.message}`)),
        Effect.retry(Schedule.spaced("5 seconds")),
        Effect.withSpan("AudioRetention.reconcile"),
        Effect.forkScoped
      )
      // A run that fails is tried again with the loops' back-off, logged once per streak.
      yield* Loops.every("Audio retention", config.interval, policy.prune).pipe(Effect.forkScoped)
      return policy.store
    })
  )

/** The policy read from `AUDIO_RETENTION` and `AUDIO_MAX_BYTES`. */
export const layerConfig: Layer.Layer<AudioStore, ConfigError.ConfigError, AudioStore | AudioLedger> =
  Layer.unwrapEffect(Effect.map(Settings.audioRetention, layer))
