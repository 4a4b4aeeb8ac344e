import { Sse } from "@effect/experimental"
import { HttpServerResponse } from "@effect/platform"
import { Context, Deferred, Effect, Layer, Schedule, Stream } from "effect"
import type { Readable } from "node:stream"
import type { Task } from "../../domain/Task.js"
import type { RegistryStats } from "../../services/TaskRegistry.js"
import { toTaskStatusJson } from "../api/Wire.js"

// The event streams' wire format, in one place: what GET /api/tasks/{task_id}/events and GET /api/events send.
//
//   event: status              a task's snapshot; `data` is the TaskStatus JSON of GET /api/tasks/{task_id}
//   id: <version>              (per-task stream only) the snapshot's version, which Last-Event-ID resumes from
//   event: evicted             (GET /api/events) {"task_id","status","completed_at","evicted_at","cause"}
//   event: stats               (GET /api/events) {"pending","processing","finished","tombstones"}
//   : ping                     a comment every 15 s, so that proxies keep an idle stream open (the encoder has no
//                              comments; clients ignore them)

/** How often an open stream sends a `: ping` comment. */
export const PING_INTERVAL = "15 seconds"

const utf8 = new TextEncoder()

const frame = (event: Sse.AnyEvent) => utf8.encode(Sse.encoder.write(event))

/** A task's snapshot as an `event: status`; its version as the event id when `withId`. */
export const statusEvent = (task: Task, withId: boolean): Uint8Array =>
  frame({
    _tag: "Event",
    event: "status",
    id: withId ? String(task.version) : undefined,
    data: JSON.stringify(toTaskStatusJson(task))
  })

/** The registry's counts as an `event: stats`. */
export const statsEvent = (stats: RegistryStats): Uint8Array =>
  frame({
    _tag: "Event",
    event: "stats",
    id: undefined,
    data: JSON.stringify({
      pending: stats.pending,
      processing: stats.processing,
      finished: stats.finished,
      tombstones: stats.tombstones
    })
  })

/**
 * Completed when the HTTP app's layer is closing. Node's `server.close` waits for every open response, so a stream
 * that did not end by itself would hold shutdown for the whole grace period (../transport/Listener.ts) and then be cut;
 * ending the streams here lets their connections close as idle ones at once.
 */
export class StreamsClosing extends Context.Tag("storyflow/http/StreamsClosing")<
  StreamsClosing,
  Deferred.Deferred<void>
>() {
  static readonly layer = Layer.scoped(
    StreamsClosing,
    Effect.acquireRelease(Deferred.make<void>(), (closing) => Deferred.succeed(closing, undefined))
  )
}

/** A comment frame: sent every `PING_INTERVAL`, and first when a stream has nothing else to send at once. */
export const PING = utf8.encode(": ping\n\n")

/**
 * An event stream as a 200 response: the frames, a ping every `PING_INTERVAL` meanwhile, ending when the frames
 * end or the app closes. A client that goes away interrupts the response's fiber, and with it the frames' stream
 * and whatever subscription it holds. On closing the stream ends like every other stream (the response is completed),
 * so that its connection closes at once rather than being cut.
 */
/** The response headers of an event stream: no cache, and no buffering by a proxy (nginx honours `x-accel-buffering`). */
const eventHeaders = { "cache-control": "no-cache", "x-accel-buffering": "no" }

/** Every header of an event stream's 200 as the platform writes it, for a stream served ahead of it. */
export const EVENT_STREAM_HEADERS = { "content-type": "text/event-stream", ...eventHeaders }

/**
 * An event stream as a 200 response whose frames, pings included, come from a node `Readable` (a subscriber of a
 * shared feed, ./Broadcast.ts): the platform pipes it to the socket as it is written, with no fiber per frame.
 */
export const eventResponse = (frames: Readable) =>
  HttpServerResponse.raw(frames, { contentType: "text/event-stream", headers: eventHeaders })

export const eventStream = <E>(frames: Stream.Stream<Uint8Array, E>, closing: Deferred.Deferred<void>) =>
  HttpServerResponse.stream(
    // One merge, not two: pings that stop when the app closes, beside the frames; whichever ends first ends both.
    Stream.merge(
      frames,
      Stream.as(Stream.fromSchedule(Schedule.spaced(PING_INTERVAL)), PING).pipe(
        Stream.interruptWhen(Deferred.await(closing))
      ),
      { haltStrategy: "either" }
    ),
    {
      contentType: "text/event-stream",
      headers: eventHeaders
    }
  )
