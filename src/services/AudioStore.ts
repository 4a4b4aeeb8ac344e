import type { Effect } from "effect"
import { Context, Data, Schema } from "effect"
import type { RegistryUnavailable } from "../domain/Errors.js"
import type { TaskId } from "../domain/TaskId.js"
import type { Speech } from "../domain/Wav.js"

/** Writing or reading an audio file failed. */
export class AudioStoreError extends Data.TaggedError("AudioStoreError")<{ readonly message: string }> {}

/** No audio file for that task and segment. */
export class AudioNotFound extends Schema.TaggedError<AudioNotFound>()("AudioNotFound", {
  taskId: Schema.String,
  segmentId: Schema.String
}) {
  override get message() {
    return `No audio for segment ${this.segmentId} of task ${this.taskId}; a segment's audio_url says where its file is`
  }
}

/** The audio one task has on disk, and when its last file was written (about when the task finished). */
export interface AudioHolding {
  readonly taskId: string
  readonly bytes: number
  readonly lastWrite: number
}

/** Audio files found on disk for one task: each segment's bytes, and when the newest was written. */
export interface FoundAudio {
  readonly taskId: string
  readonly files: ReadonlyArray<readonly [segmentId: string, bytes: number]>
  readonly lastWrite: number
}

/** What the store holds: bytes on disk and the tasks they belong to. */
export interface AudioUsage {
  readonly bytes: number
  readonly tasks: number
}

/**
 * Where generated audio lives: one WAV file per segment, `{task_id}/{segment_id}.wav`. Audio outlives records, until
 * the retention policy (see `AudioRetention`) removes it.
 */
export class AudioStore extends Context.Tag("storyflow/AudioStore")<
  AudioStore,
  {
    /** Writes the segment's WAV file and answers the seconds of audio it holds. */
    readonly write: (taskId: TaskId, segmentId: string, speech: Speech) => Effect.Effect<number, AudioStoreError>
    /** The file's path on disk, once it exists. */
    readonly locate: (taskId: TaskId, segmentId: string) => Effect.Effect<string, AudioNotFound>
    /**
     * Bytes and tasks held, kept as files are written and removed (no scan). Where the count is shared with other
     * processes (in Redis), reading it may fail with `RegistryUnavailable`.
     */
    readonly usage: Effect.Effect<AudioUsage, RegistryUnavailable>
    /** Every task's audio, the least recently written first. */
    readonly holdings: Effect.Effect<ReadonlyArray<AudioHolding>, RegistryUnavailable>
    /** Reads the directory: every task's audio files as they are on disk now (a walk of the whole store). */
    readonly scan: Effect.Effect<ReadonlyArray<FoundAudio>>
    /** Removes all of a task's audio and answers the bytes freed. */
    readonly remove: (taskId: string) => Effect.Effect<number, AudioStoreError>
  }
>() {}
