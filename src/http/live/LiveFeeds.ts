import type { Scope } from "effect"
import { Context, Effect, Layer, Option, Stream } from "effect"
import type { Readable } from "node:stream"
import type { RegistryUnavailable } from "../../domain/Errors.js"
import * as Task from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import * as HttpMetrics from "../metrics/HttpMetrics.js"
import { changeFrames } from "./AllEvents.js"
import * as SharedFeed from "./SharedFeed.js"
import { statsEvent, StreamsClosing } from "./Sse.js"
import * as TaskFeeds from "./TaskFeeds.js"

// The shared feeds of the event streams, one set per process: the platform's handlers (./Events.ts) and the
// intercept that serves streams ahead of the platform (./StreamIntercept.ts) open their streams here, so that both
// join the same subscription per watched task and the same run of GET /api/events.

/** A stream's end on a store failure: the client reconnects (with `Last-Event-ID` on a task's stream). */
export const endOnFailure = <A, E>(stream: Stream.Stream<A, E>) =>
  Stream.catchAllCause(stream, (cause) =>
    Stream.fromEffect(Effect.logWarning("An event stream ended on a failure", cause)).pipe(Stream.drain)
  )

export class LiveFeeds extends Context.Tag("storyflow/http/LiveFeeds")<
  LiveFeeds,
  {
    /**
     * GET /api/tasks/{task_id}/events for a client that has seen `after` (a version; -1 for none), open and counted
     * in `storyflow_event_streams_open` for as long as the scope is: its frames, or none when nothing will ever come
     * (204). Fails as `watch` fails, before any frame (404, 410).
     */
    readonly task: (
      id: TaskId,
      after: number
    ) => Effect.Effect<Option.Option<Readable>, TaskFeeds.WatchError, Scope.Scope>
    /** GET /api/events for a client that does not resume, open for as long as the scope is: the counts, then live. */
    readonly all: Effect.Effect<Readable, RegistryUnavailable, Scope.Scope>
  }
>() {
  static readonly layer = Layer.scoped(
    LiveFeeds,
    Effect.gen(function* () {
      const registry = yield* TaskRegistry
      const closing = yield* StreamsClosing
      const feeds = yield* TaskFeeds.make(registry, closing)
      const allEvents = yield* SharedFeed.make(
        endOnFailure(changeFrames(registry.events, registry.stats, false)),
        closing
      )
      return {
        task: (id, after) =>
          Effect.gen(function* () {
            // The task's shared feed (./TaskFeeds.ts), held for as long as the scope. Made with the first snapshot
            // read before answering, so that 404 and 410 are answered as JSON, not as a 200 that ends at once.
            const feed = yield* feeds.get(id)
            const first = yield* feed.latest
            // Finished at or before the version the client has: nothing will ever come, and 204 tells an
            // EventSource to stop reconnecting.
            if (Option.isNone(first) || (Task.isFinished(first.value) && first.value.version <= after)) {
              return Option.none()
            }
            yield* HttpMetrics.openFor("task")
            return Option.some(yield* feed.join(after))
          }),
        // Joins the one run of the registry's events per process, shared by every such client (./SharedFeed.ts),
        // with its own counts first. A reader that falls behind is cut (its connection closed); every reader's stream
        // ends after its last event when the shared run missed changes: their reconnects resume from their last ids.
        all: Effect.gen(function* () {
          const initial = yield* registry.stats
          yield* HttpMetrics.openFor("all")
          return yield* allEvents.join([statsEvent(initial)])
        })
      }
    })
  )
}
