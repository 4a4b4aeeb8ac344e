import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import type { ConfigError } from "effect"
import {
  Array as Arr,
  Clock,
  Duration,
  Effect,
  Exit,
  HashMap,
  Layer,
  Option,
  Order,
  Predicate,
  Ref,
  Schema
} from "effect"
import { getSystemErrorMap } from "node:util"
import { isSegmentId } from "../../domain/Segment.js"
import { TaskId } from "../../domain/TaskId.js"
import type { Speech } from "../../domain/Wav.js"
import { durationSeconds, encodeWav } from "../../domain/Wav.js"
import type { AudioHolding, FoundAudio } from "../../services/AudioStore.js"
import { AudioNotFound, AudioStore, AudioStoreError } from "../../services/AudioStore.js"
import * as Settings from "../../services/Settings.js"

export interface AudioStoreFsOptions {
  /**
   * A partial file younger than this may be a write in progress in another process that shares the directory, so
   * the start-up sweep leaves it for a second pass this much later. A healthy write takes milliseconds.
   */
  readonly partialGrace?: Duration.DurationInput
}

const PARTIAL = ".partial"

/** One task's files (segment id → bytes) and when the last of them was written. */
interface Held {
  readonly files: HashMap.HashMap<string, number>
  readonly bytes: number
  readonly lastWrite: number
}

const holdingOrder = Order.mapInput(Order.number, (h: AudioHolding) => h.lastWrite)

/**
 * Says what failed without the path: Node's messages name the absolute path on the server, which a client has no
 * use for ("no space left on device (ENOSPC)", not "ENOSPC: no space left on device, write '/srv/…'").
 */
const describe = (error: PlatformError): string => {
  const cause: unknown = error.cause
  const errno = Predicate.hasProperty(cause, "errno") && typeof cause.errno === "number" ? cause.errno : undefined
  const known = errno === undefined ? undefined : getSystemErrorMap().get(errno)
  if (known !== undefined) return `${known[1]} (${known[0]})`
  return error._tag === "SystemError" ? `${error.reason} (${error.method})` : `bad argument (${error.method})`
}

/**
 * Stores WAV files under `root` as `{task_id}/{segment_id}.wav`, each written to a temporary `.partial` name and
 * renamed, so that a reader never sees half a file. The partial file is removed whenever the write does not finish,
 * and partial files that an earlier run left behind (a crash, a kill) are swept in the background at start-up.
 */
export const make = (root: string, options: AudioStoreFsOptions = {}) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const base = path.resolve(root)
    const grace = Duration.decode(options.partialGrace ?? "1 minute")
    // What is on disk, per task: kept as files are written and removed, so that usage never needs a scan.
    const held = yield* Ref.make({ byTask: HashMap.empty<string, Held>(), bytes: 0 })

    const record = (taskId: string, segmentId: string, bytes: number, at: number) =>
      Ref.update(held, ({ byTask, bytes: total }) => {
        const before = Option.getOrElse(HashMap.get(byTask, taskId), () => ({
          files: HashMap.empty<string, number>(),
          bytes: 0,
          lastWrite: at
        }))
        const replaced = Option.getOrElse(HashMap.get(before.files, segmentId), () => 0)
        return {
          byTask: HashMap.set(byTask, taskId, {
            files: HashMap.set(before.files, segmentId, bytes),
            bytes: before.bytes - replaced + bytes,
            lastWrite: Math.max(before.lastWrite, at)
          }),
          bytes: total - replaced + bytes
        }
      })

    const fileOf = (taskId: TaskId, segmentId: string): string | undefined => {
      // Segment ids are validated at the API; this is the store's own guard, so no caller can escape its root.
      if (!isSegmentId(segmentId)) return undefined
      const file = path.resolve(base, taskId, `${segmentId}.wav`)
      const relative = path.relative(base, file)
      return relative.startsWith("..") || path.isAbsolute(relative) ? undefined : file
    }

    const removePartial = (partial: string) =>
      fs
        .remove(partial, { force: true })
        .pipe(Effect.catchAll((error) => Effect.logWarning("Could not remove an unfinished audio file", error.message)))

    /** Writes `bytes` to `file` by way of a partial file; `written` runs in the same uninterruptible step as the rename. */
    const writeFile = <E>(file: string, bytes: Uint8Array, written: Effect.Effect<void, E>) => {
      const partial = `${file}${PARTIAL}`
      return Effect.gen(function* () {
        yield* fs.makeDirectory(path.dirname(file), { recursive: true })
        // Node cannot abort a write cleanly: an aborted writeFile may still create the file after the cleanup below
        // has looked for it. A segment's WAV takes milliseconds to write, so the write runs to its end, and an
        // interruption takes effect right after it, before the rename.
        yield* Effect.uninterruptible(fs.writeFile(partial, bytes))
        // A file on disk that the index does not know of would never be removed by retention.
        yield* Effect.uninterruptible(Effect.zipRight(fs.rename(partial, file), written))
      }).pipe(Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : removePartial(partial))))
    }

    const write = Effect.fn("AudioStore.write")(function* (taskId: TaskId, segmentId: string, speech: Speech) {
      const file = fileOf(taskId, segmentId)
      if (file === undefined) return yield* new AudioStoreError({ message: `Unsafe segment id: ${segmentId}` })
      const bytes = encodeWav(speech)
      const recorded = Effect.flatMap(Clock.currentTimeMillis, (now) => record(taskId, segmentId, bytes.length, now))
      yield* writeFile(file, bytes, recorded).pipe(
        Effect.mapError(
          (error) =>
            new AudioStoreError({
              message: `Could not write the audio file for segment ${segmentId}: ${describe(error)}`
            })
        )
      )
      return durationSeconds(speech)
    })

    const locate = (taskId: TaskId, segmentId: string) =>
      Effect.gen(function* () {
        const file = fileOf(taskId, segmentId)
        const exists = file === undefined ? false : yield* Effect.orElseSucceed(fs.exists(file), () => false)
        if (file === undefined || !exists) return yield* new AudioNotFound({ taskId, segmentId })
        return file
      })

    /** 1 if `file` was a partial file older than the grace period and is now gone, else 0. */
    const removeIfStale = (file: string, now: number) =>
      fs.stat(file).pipe(
        Effect.map((info) =>
          Option.match(info.mtime, { onNone: () => true, onSome: (m) => now - m.getTime() >= Duration.toMillis(grace) })
        ),
        Effect.flatMap((stale) => (stale ? Effect.as(fs.remove(file), 1) : Effect.succeed(0))),
        Effect.catchAll((error) =>
          // Gone already: renamed by the write that owned it, or removed by another process's sweep.
          error._tag === "SystemError" && error.reason === "NotFound"
            ? Effect.succeed(0)
            : Effect.as(Effect.logWarning("Could not remove an unfinished audio file", error.message), 0)
        )
      )

    // Only where the store writes, `{task}/{file}`: two directory levels, never a walk of the whole tree.
    const sweepPartials = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      // No directory yet, or entries that are not task directories: nothing of ours to remove there.
      const tasks = yield* Effect.orElseSucceed(fs.readDirectory(base), () => [])
      const removed = yield* Effect.forEach(
        tasks,
        (task) =>
          Effect.orElseSucceed(fs.readDirectory(path.join(base, task)), () => []).pipe(
            Effect.flatMap((names) =>
              Effect.forEach(
                names.filter((name) => name.endsWith(PARTIAL)),
                (name) => removeIfStale(path.join(base, task, name), now)
              )
            )
          ),
        { concurrency: 8 }
      )
      const count = removed.flat().reduce((sum: number, n) => sum + n, 0)
      if (count > 0) {
        yield* Effect.logInfo(`Removed ${count} unfinished audio file(s)`).pipe(Effect.annotateLogs({ removed: count }))
      }
    })

    // In the background, so that a large AUDIO_DIR does not hold up start-up; twice, so that the partial files of a
    // run that crashed just before this one (too recent for the first pass) go too.
    yield* sweepPartials.pipe(
      Effect.zipRight(Effect.sleep(grace)),
      Effect.zipRight(sweepPartials),
      Effect.withSpan("AudioStore.sweepPartials"),
      Effect.forkScoped
    )

    const usage = Effect.map(Ref.get(held), ({ byTask, bytes }) => ({ bytes, tasks: HashMap.size(byTask) }))

    const holdings = Effect.map(Ref.get(held), ({ byTask }) =>
      Arr.sort(
        Arr.map(HashMap.toEntries(byTask), ([taskId, h]) => ({ taskId, bytes: h.bytes, lastWrite: h.lastWrite })),
        holdingOrder
      )
    )

    const remove = (taskId: string) =>
      Effect.gen(function* () {
        const dir = path.resolve(base, taskId)
        // The store's own guard, as for files: only a directory directly under its root.
        if (path.dirname(dir) !== base) return yield* new AudioStoreError({ message: `Unsafe task id: ${taskId}` })
        yield* fs
          .remove(dir, { recursive: true, force: true })
          .pipe(
            Effect.mapError(
              (e) => new AudioStoreError({ message: `Could not remove the audio of a task: ${describe(e)}` })
            )
          )
        // What is forgotten is what is recorded at this moment, in one step, so that the running total stays exact
        // whatever was recorded while the files were being removed.
        return yield* Ref.modify(held, ({ byTask, bytes }) => {
          const freed = Option.match(HashMap.get(byTask, taskId), { onNone: () => 0, onSome: (h) => h.bytes })
          return [freed, { byTask: HashMap.remove(byTask, taskId), bytes: bytes - freed }]
        })
      })

    /** What the disk holds: each task directory's WAV files, their sizes, and the newest one's time. */
    const scan = Effect.gen(function* () {
      // Only task directories: anything else was not written here, and retention would never remove it.
      const tasks = (yield* Effect.orElseSucceed(fs.readDirectory(base), () => [])).filter(Schema.is(TaskId))
      const found = yield* Effect.forEach(
        tasks,
        (task) =>
          Effect.orElseSucceed(fs.readDirectory(path.join(base, task)), () => []).pipe(
            Effect.flatMap((names) =>
              Effect.forEach(
                names.filter((name) => name.endsWith(".wav")),
                (name) =>
                  fs.stat(path.join(base, task, name)).pipe(
                    Effect.map((info) => ({
                      segmentId: name.slice(0, -".wav".length),
                      bytes: Number(info.size),
                      at: Option.match(info.mtime, { onNone: () => 0, onSome: (m) => m.getTime() })
                    })),
                    // Removed meanwhile: not there.
                    Effect.option
                  )
              )
            ),
            Effect.map((stats): FoundAudio => {
              const files = Arr.getSomes(stats)
              return {
                taskId: task,
                files: files.map(({ bytes, segmentId }) => [segmentId, bytes] as const),
                lastWrite: files.reduce((latest, file) => Math.max(latest, file.at), 0)
              }
            })
          ),
        { concurrency: 8 }
      )
      return found.filter((task) => task.files.length > 0)
    })

    /** What an earlier run left on disk, recorded as if written now (each file at its own time). */
    const index = Effect.flatMap(scan, (found) =>
      Effect.forEach(
        found,
        ({ files, lastWrite, taskId }) =>
          Effect.forEach(files, ([segmentId, bytes]) => record(taskId, segmentId, bytes, lastWrite), {
            discard: true
          }),
        { discard: true }
      )
    )
    // In the background, like the sweep: a large AUDIO_DIR does not hold up start-up; meanwhile usage counts what
    // has been written since.
    yield* index.pipe(Effect.withSpan("AudioStore.index"), Effect.forkScoped)

    return AudioStore.of({ write, locate, usage, holdings, remove, scan })
  })

/** The store under `root`, given in code. */
export const layer = (
  root: string,
  options: AudioStoreFsOptions = {}
): Layer.Layer<AudioStore, never, FileSystem.FileSystem | Path.Path> => Layer.scoped(AudioStore, make(root, options))

/** The store under `AUDIO_DIR` (default `./data/audio`). */
export const layerConfig: Layer.Layer<AudioStore, ConfigError.ConfigError, FileSystem.FileSystem | Path.Path> =
  Layer.unwrapEffect(Effect.map(Settings.audioDir, (root) => layer(root)))
