import { FileSystem, Path } from "@effect/platform"
import type { ConfigError } from "effect"
import { Config, Effect, Layer } from "effect"
import { isSegmentId } from "../domain/Segment.js"
import type { TaskId } from "../domain/TaskId.js"
import type { Speech } from "../domain/Wav.js"
import { durationSeconds, encodeWav } from "../domain/Wav.js"
import { AudioNotFound, AudioStore, AudioStoreError } from "../services/AudioStore.js"

/** The directory audio is written under. */
export const AudioDir = Config.string("AUDIO_DIR").pipe(
  Config.withDefault("./data/audio"),
  Config.withDescription("where generated WAV files are written")
)

/** Stores WAV files under `root` as `{task_id}/{segment_id}.wav`, each written to a temporary name and renamed. */
export const make = (root: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const base = path.resolve(root)

    const fileOf = (taskId: TaskId, segmentId: string): string | undefined => {
      // Segment ids are validated at the API; this is the store's own guard, so no caller can escape its root.
      if (!isSegmentId(segmentId)) return undefined
      const file = path.resolve(base, taskId, `${segmentId}.wav`)
      const relative = path.relative(base, file)
      return relative.startsWith("..") || path.isAbsolute(relative) ? undefined : file
    }

    const write = (taskId: TaskId, segmentId: string, speech: Speech) =>
      Effect.gen(function* () {
        const file = fileOf(taskId, segmentId)
        if (file === undefined) return yield* new AudioStoreError({ message: `Unsafe segment id: ${segmentId}` })
        const partial = `${file}.partial`
        yield* fs.makeDirectory(path.dirname(file), { recursive: true })
        yield* fs.writeFile(partial, encodeWav(speech))
        yield* fs.rename(partial, file)
        return durationSeconds(speech)
      }).pipe(
        Effect.catchTag("SystemError", "BadArgument", (e) =>
          Effect.fail(new AudioStoreError({ message: `Could not write audio: ${e.message}` }))
        )
      )

    const locate = (taskId: TaskId, segmentId: string) =>
      Effect.gen(function* () {
        const file = fileOf(taskId, segmentId)
        const exists = file === undefined ? false : yield* Effect.orElseSucceed(fs.exists(file), () => false)
        if (file === undefined || !exists) return yield* new AudioNotFound({ taskId, segmentId })
        return file
      })

    return AudioStore.of({ write, locate })
  })

/** The store under `AUDIO_DIR` (default `./data/audio`). */
export const layer: Layer.Layer<AudioStore, ConfigError.ConfigError, FileSystem.FileSystem | Path.Path> = Layer.effect(
  AudioStore,
  Effect.flatMap(AudioDir, make)
)
