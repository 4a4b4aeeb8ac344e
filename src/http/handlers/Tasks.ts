import { HttpApiBuilder } from "@effect/platform"
import { Effect, Schema } from "effect"
import { AudioGeneration } from "../../services/AudioGeneration.js"
import { Synthesizer } from "../../services/Synthesizer.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import { Api } from "../Api.js"
import { InvalidRequest } from "../ApiErrors.js"
import { readJson } from "../Body.js"
import { toWireError } from "../Translate.js"
import { submitRequest, toTaskStatusJson, toTaskSummaryJson } from "../Wire.js"

export const TasksLive = HttpApiBuilder.group(Api, "tasks", (handlers) =>
  Effect.gen(function* () {
    const registry = yield* TaskRegistry
    const generation = yield* AudioGeneration
    const { voices } = yield* Synthesizer
    const known = new Set(voices)
    const decodeSubmit = Schema.decodeUnknown(submitRequest((voice) => known.has(voice)))

    return (
      handlers
        // Raw, so that the body is read here: with a size limit, and with a 400 that says what is wrong with it.
        .handleRaw("submit", ({ request }) =>
          readJson(request).pipe(
            Effect.flatMap((body) => Effect.mapError(decodeSubmit(body), InvalidRequest.fromParseError)),
            Effect.flatMap((valid) => Effect.mapError(generation.submit(valid), (e) => toWireError(e))),
            Effect.map(toTaskStatusJson)
          )
        )
        .handle("status", ({ path }) =>
          registry
            .get(path.task_id)
            .pipe(Effect.mapBoth({ onFailure: (e) => toWireError(e), onSuccess: toTaskStatusJson }))
        )
        .handle("list", ({ urlParams }) =>
          registry.list(urlParams).pipe(Effect.map((tasks) => ({ tasks: tasks.map(toTaskSummaryJson) })))
        )
        .handle("cancel", ({ path }) =>
          registry
            .cancel(path.task_id)
            .pipe(Effect.mapBoth({ onFailure: (e) => toWireError(e), onSuccess: toTaskStatusJson }))
        )
    )
  })
)
