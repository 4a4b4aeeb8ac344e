import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Chunk, Effect, identity, Option, Stream } from "effect"
import * as Task from "../../domain/Task.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import { Api } from "../api/Api.js"
import { eventStream, makeStatusEvents, PING, StreamsClosing } from "./Sse.js"
import { allEventFrames } from "./AllEvents.js"
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
    const statusEvents = makeStatusEvents()

    return handlers
      .handleRaw("task", ({ headers, path }) =>
        Effect.gen(function* () {
          const after = headers["last-event-id"] ?? -1
          // The first snapshot is read before answering, so that 404 and 410 are answered as JSON, not as a 200 that
          // ends at once. The subscription lives in the request's scope, which lasts until the response has been
          // sent or the client has gone; it is released then either way.
          // `toPull` rather than `peel`: the rest is read in the response's own fiber, with no fiber and handoff per
          // snapshot in between; with a thousand watchers, every stage is paid a thousand times per change.
          const pull = yield* Stream.toPull(registry.watch(path.task_id))
          const firstChunk = yield* Effect.catchAll(pull, (e) =>
            Option.match(e, { onNone: () => Effect.succeed(Chunk.empty<Task.Task>()), onSome: Effect.fail })
          )
          const first = Chunk.head(firstChunk)
          if (Option.isNone(first)) return HttpServerResponse.empty({ status: 204 })
          // Finished at or before the version the client has: nothing will ever come, and 204 tells an EventSource
          // to stop reconnecting.
          if (Task.isFinished(first.value) && first.value.version <= after) {
            return HttpServerResponse.empty({ status: 204 })
          }
          const rest = Stream.repeatEffectChunkOption(pull)
          const snapshots = Stream.concat(Stream.fromChunk(firstChunk), endOnFailure(rest)).pipe(
            Stream.filter((task) => task.version > after),
            Stream.map((task) => statusEvents(task, true)),
            // Node sends the headers with the first bytes of the body: a resumed stream with nothing newer yet
            // starts with a ping, so that the client knows at once that it is connected.
            first.value.version > after ? identity : Stream.prepend(Chunk.of(PING))
          )
          return eventStream(HttpMetrics.countingOpen(snapshots, "task"), closing)
        })
      )
      .handleRaw("all", () =>
        Effect.gen(function* () {
          const request = yield* HttpServerRequest.HttpServerRequest
          const lastEventId = request.headers["last-event-id"]
          const initial = yield* registry.stats
          // A client that reconnects with the id of the last event it had resumes after it (or is told it missed
          // some); one that fell behind is ended after its last event, so that its reconnect resumes there.
          const resumed = lastEventId !== undefined && lastEventId !== ""
          const events = resumed ? registry.eventsAfter(lastEventId) : registry.events
          const frames = endOnFailure(allEventFrames(events, initial, registry.stats, resumed))
          return eventStream(HttpMetrics.countingOpen(frames, "all"), closing)
        })
      )
  })
)
