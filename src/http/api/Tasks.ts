import { HttpApiBuilder } from "@effect/platform"
import { Effect, ParseResult, Schema } from "effect"
import { Narration } from "../../domain/Narration.js"
import { Synthesizer } from "../../services/Synthesizer.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import { Api } from "./Api.js"
import { InvalidRequest } from "./HttpErrors.js"
import { readJson } from "./Body.js"
import { StatusBodies } from "./StatusBody.js"
import { repeatedSegmentIds, submitRequest, toTaskSummaryJson } from "./Wire.js"

export const TasksLive = HttpApiBuilder.group(Api, "tasks", (handlers) =>
  Effect.gen(function* () {
    const registry = yield* TaskRegistry
    const { voices } = yield* Synthesizer
    const known = new Set(voices)
    const decodeSubmit = Schema.decodeUnknown(submitRequest((voice) => known.has(voice)))
    // Polling is the hot path: each status is encoded once per change of the task, not once per request. Every
    // endpoint that answers a TaskStatus goes through this one encoder (and so does the fast path of ../transport/Polling.ts).
    const statusBody = yield* StatusBodies

    return (
      handlers
        // Raw, so that the body is read here: with a size limit, and with a 400 that says what is wrong with it.
        // The key's header is checked where the API declares it. A repeat answers the record as first stored, so its
        // body is the first answer's, byte for byte.
        .handleRaw("submit", ({ headers, request }) =>
          readJson(request).pipe(
            Effect.flatMap((body) =>
              Effect.mapError(decodeSubmit(body), (error) => {
                const repeated = repeatedSegmentIds(body)
                const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
                // Said once if the schema said it too: issues with the same field and message are merged.
                return InvalidRequest.fromIssues(repeated === undefined ? issues : [...issues, repeated])
              })
            ),
            Effect.flatMap((payload) =>
              registry.submit(Narration, payload, { idempotencyKey: headers["idempotency-key"] })
            ),
            // The wire schema already checked everything the payload schema checks.
            Effect.catchTag("InvalidPayload", (e) => Effect.fail(InvalidRequest.body(e.message))),
            Effect.map((task) => statusBody(task, 202))
          )
        )
        .handleRaw("status", ({ path }) => Effect.map(registry.get(path.task_id), (task) => statusBody(task)))
        .handle("list", ({ urlParams }) =>
          registry.list(urlParams).pipe(Effect.map((tasks) => ({ tasks: tasks.map(toTaskSummaryJson) })))
        )
        .handleRaw("cancel", ({ path }) => Effect.map(registry.cancel(path.task_id), (task) => statusBody(task)))
    )
  })
)
