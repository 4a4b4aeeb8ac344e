import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect, Option, Schedule, Stream } from "effect"
import * as Task from "../../domain/Task.js"
import type { RegistryEvent } from "../../services/TaskRegistry.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import { Api } from "../api/Api.js"
import { eventResponse, evictedEvent, makeStatusEvents, statsEvent, StreamsClosing } from "./Sse.js"
import * as SharedFeed from "./SharedFeed.js"
import * as TaskFeeds from "./TaskFeeds.js"
import * as HttpMetrics from "../metrics/HttpMetrics.js"

/** How often, at most, `GET /api/events` sends the registry's counts while changes happen. */
export const STATS_INTERVAL = "1 second"

/** A stream's end on a store failure: the client reconnects (with `Last-Event-ID` on a task's stream). */
const endOnFailure = <A, E>(stream: Stream.Stream<A, E>) =>
  Stream.catchAllCause(stream, (cause) =>
    Stream.fromEffect(Effect.logWarning("An event stream ended on a failure", cause)).pipe(Stream.drain)
  )

export const EventsLive = HttpApiBuilder.group(Api, "events", (handlers) =>
  Effect.gen(function* () {
    const registry = yield* TaskRegistry
    const closing = yield* StreamsClosing
    const statusEvents = makeStatusEvents()
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
          const initial = yield* registry.stats
          // Changes and evictions as they come; the counts on the next tick after any of them, so that a burst of
          // changes costs one stats event a second, and the last counts of a burst are always sent.
          const ticks = Stream.as(Stream.fromSchedule(Schedule.spaced(STATS_INTERVAL)), "tick" as const)
          // After changes were missed, the stream ends: the client reconnects and reads the list again (the
          // dashboard does), rather than showing a view that is silently out of date.
          const frames = registry.events.pipe(
            Stream.takeWhile((event) => event._tag !== "Missed"),
            Stream.merge(ticks, { haltStrategy: "left" }),
            Stream.mapAccumEffect(
              false,
              (dirty, input: RegistryEvent | "tick"): Effect.Effect<readonly [boolean, ReadonlyArray<Uint8Array>]> => {
                if (input === "tick") {
                  if (!dirty) return Effect.succeed([false, []])
                  return registry.stats.pipe(
                    Effect.map((stats) => [false, [statsEvent(stats)]] as const),
                    Effect.orElseSucceed(() => [true, []] as const)
                  )
                }
                if (input._tag === "Missed") return Effect.succeed([dirty, []])
                const frame =
                  input._tag === "Changed"
                    ? statusEvents(input.task, false)
                    : evictedEvent(input.tombstone, input.cause)
                return Effect.succeed([true, [frame]])
              }
            ),
            Stream.flattenIterables,
            endOnFailure
          )
          // One run of `frames` per process, shared by every client (./SharedFeed.ts); each gets its counts first.
          yield* HttpMetrics.openFor("all")
          return eventResponse(yield* allEvents.join(frames, [statsEvent(initial)]))
        })
      )
  })
)
