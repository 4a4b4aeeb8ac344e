import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Stream } from "effect"
import * as Task from "../../domain/Task.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import { Api } from "../api/Api.js"
import { eventResponse, eventStream, statsEvent, StreamsClosing } from "./Sse.js"
import { allEventFrames, changeFrames } from "./AllEvents.js"
import * as SharedFeed from "./SharedFeed.js"
import * as TaskFeeds from "./TaskFeeds.js"
import * as HttpMetrics from "../metrics/HttpMetrics.js"

export { STATS_INTERVAL } from "./AllEvents.js"

/** A stream's end on a store failure: the client reconnects (with `Last-Event-ID` on a task's stream). */
const endOnFailure = <A, E>(stream: Stream.Stream<A, E>) =>
  Stream.catchAllCause(stream, (cause) =>
    Stream.fromEffect(Effect.logWarning("An event stream ended on a failure", cause)).pipe(Stream.drain)
  )

export const EventsLive = HttpApiBuilder.group(Api, "events", (handlers) =>
  Effect.gen(function* () {
    const registry = yield* TaskRegistry
    const closing = yield* StreamsClosing
    const feeds = yield* TaskFeeds.make(registry, closing)
    const allEvents = yield* SharedFeed.make(closing)

    return handlers
      .handleRaw("task", ({ headers, path }) =>
        Effect.gen(function* () {
          const after = headers["last-event-id"] ?? -1
          // The task's shared feed (./TaskFeeds.ts), held for as long as the request's scope, which lasts until the
          // response has been sent or the client has gone. Made with the first snapshot read before answering, so
          // that 404 and 410 are answered as JSON, not as a 200 that ends at once.
          const feed = yield* feeds.get(path.task_id)
          const first = yield* feed.latest
          if (Option.isNone(first)) return HttpServerResponse.empty({ status: 204 })
          // Finished at or before the version the client has: nothing will ever come, and 204 tells an EventSource
          // to stop reconnecting.
          if (Task.isFinished(first.value) && first.value.version <= after) {
            return HttpServerResponse.empty({ status: 204 })
          }
          yield* HttpMetrics.openFor("task")
          return eventResponse(yield* feed.join(after))
        })
      )
      .handleRaw("all", () =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const lastEventId = request.headers["last-event-id"]
          const initial = yield* registry.stats
          // A client that reconnects with the id of the last event it had resumes after it (or is told it missed
          // some) on a stream of its own: the history after that id, then live.
          const resumed = lastEventId !== undefined && lastEventId !== ""
          if (resumed) {
            const frames = endOnFailure(
              allEventFrames(registry.eventsAfter(lastEventId), initial, registry.stats, true)
            )
            return eventStream(HttpMetrics.countingOpen(frames, "all"), closing)
          }
          // Any other client joins the one run of the registry's events per process, shared by every such client
          // (./SharedFeed.ts), with its own counts first. A reader that falls behind is ended after its last event,
          // and so is every reader when the shared run missed changes: their reconnects resume from their last ids.
          yield* HttpMetrics.openFor("all")
          const frames = endOnFailure(changeFrames(registry.events, registry.stats, false))
          return eventResponse(yield* allEvents.join(frames, [statsEvent(initial)]))
        })
      )
  })
)
