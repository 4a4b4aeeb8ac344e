import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import { TaskId } from "../../domain/TaskId.js"
import { AudioNotFound, AudioStore } from "../../services/AudioStore.js"
import { Api } from "./Api.js"

const decodeTaskId = Schema.decodeUnknownOption(TaskId)

export const AudioLive = HttpApiBuilder.group(Api, "audio", (handlers) =>
  Effect.gen(function* () {
    const store = yield* AudioStore
    return handlers.handleRaw("download", ({ path }) => {
      const notFound = new AudioNotFound({ taskId: path.task_id, segmentId: path.file.replace(/\.wav$/, "") })
      // In either case, as the other routes take it (see `taskId` in ./Api.ts).
      const taskId = decodeTaskId(path.task_id.toLowerCase())
      // The store refuses any segment id that is not a safe file name, as it refuses one it has no file for.
      const segmentId = path.file.endsWith(".wav") ? path.file.slice(0, -".wav".length) : undefined
      if (Option.isNone(taskId) || segmentId === undefined) return Effect.fail(notFound)
      return store.locate(taskId.value, segmentId).pipe(
        // Streamed from disk rather than read whole: a long segment's file can be tens of megabytes.
        Effect.flatMap((file) => HttpServerResponse.file(file, { contentType: "audio/wav" })),
        Effect.mapError(() => notFound)
      )
    })
  })
)
