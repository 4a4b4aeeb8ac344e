import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option } from "effect"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import { Api } from "../api/Api.js"
import { eventResponse, eventStream, StreamsClosing } from "./Sse.js"
import { allEventFrames } from "./AllEvents.js"
import { endOnFailure, LiveFeeds } from "./LiveFeeds.js"
import * as HttpMetrics from "../metrics/HttpMetrics.js"

export { STATS_INTERVAL } from "./AllEvents.js"

export const EventsLive = HttpApiBuilder.group(Api, "events", (handlers) =>
  Effect.gen(function* () {
    const registry = yield* TaskRegistry
    const closing = yield* StreamsClosing
    const live = yield* LiveFeeds

    return handlers
      .handleRaw("task", ({ headers, path }) =>
        // Open for as long as the request's scope, which lasts until the response has been sent or the client
        // has gone.
        Effect.map(
          live.task(path.task_id, headers["last-event-id"] ?? -1),
          Option.match({ onNone: () => HttpServerResponse.empty({ status: 204 }), onSome: eventResponse })
        )
      )
      .handleRaw("all", () =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const lastEventId = request.headers["last-event-id"]
          // A client that reconnects with the id of the last event it had resumes after it (or is told it missed
          // some) on a stream of its own: the history after that id, then live.
          if (lastEventId !== undefined && lastEventId !== "") {
            const initial = yield* registry.stats
            const frames = endOnFailure(
              allEventFrames(registry.eventsAfter(lastEventId), initial, registry.stats, true)
            )
            return eventStream(HttpMetrics.countingOpen(frames, "all"), closing)
          }
          return eventResponse(yield* live.all)
        })
      )
  })
)
