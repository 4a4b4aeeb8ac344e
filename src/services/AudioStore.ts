import type { Effect } from "effect"
import { Context, Data, Schema } from "effect"
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

/** Where generated audio lives: one WAV file per segment, `{task_id}/{segment_id}.wav`. Audio outlives records. */
export class AudioStore extends Context.Tag("storyflow/AudioStore")<
  AudioStore,
  {
    /** Writes the segment's WAV file and answers the seconds of audio it holds. */
    readonly write: (taskId: TaskId, segmentId: string, speech: Speech) => Effect.Effect<number, AudioStoreError>
    /** The file's path on disk, once it exists. */
    readonly locate: (taskId: TaskId, segmentId: string) => Effect.Effect<string, AudioNotFound>
  }
>() {}
