import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { TaskId } from "../../domain/TaskId.js"
import { AudioStore } from "../../services/AudioStore.js"
import { Api } from "../Api.js"
import { AudioNotFound } from "../ApiErrors.js"

const WAV_FILE = /^([A-Za-z0-9_-]{1,64})\.wav$/
const decodeTaskId = Schema.decodeUnknownOption(TaskId)

export const AudioLive = HttpApiBuilder.group(Api, "audio", (handlers) =>
  Effect.gen(function* () {
    const store = yield* AudioStore
    return handlers.handleRaw("download", ({ path }) => {
      const notFound = new AudioNotFound({
        message: `No audio at /audio/${path.task_id}/${path.file}; a segment's audio_url says where its file is`
      })
      const taskId = decodeTaskId(path.task_id)
      const segmentId = WAV_FILE.exec(path.file)?.[1]
      if (Option.isNone(taskId) || segmentId === undefined) return Effect.fail(notFound)
      return store.locate(taskId.value, segmentId).pipe(
        // Streamed from disk rather than read whole: a long segment's file can be tens of megabytes.
        Effect.flatMap((file) => HttpServerResponse.file(file, { contentType: "audio/wav" })),
        Effect.mapError(() => notFound)
      )
    })
  })
)
