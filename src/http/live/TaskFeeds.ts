import type { Context, Scope } from "effect"
import { Chunk, Deferred, Effect, Option, RcMap, Schedule, Stream } from "effect"
import type { Readable } from "node:stream"
import type { Task } from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { TaskRegistry } from "../../services/TaskRegistry.js"
import * as Broadcast from "./Broadcast.js"
import { PING, PING_INTERVAL, statusEvent } from "./Sse.js"

// GET /api/tasks/{task_id}/events, shared: per process, one registry subscription per watched task, however many
// clients watch it. Each snapshot is encoded once into its `event: status` frame, and that frame is written to every
// open response (./Broadcast.ts). A task's feed is made for its first watcher and released with its last.

/** Frames a watcher may have waiting unread before its stream is ended (it reconnects with `Last-Event-ID`). */
export const WATCHER_BUFFER = 64

/** A task's feed: a snapshot, or a ping (null). */
type Item = Task | null

export interface TaskFeed {
  /** The task's latest snapshot: the first the feed read, or a newer one (none if the watch had none). */
  readonly latest: Effect.Effect<Option.Option<Task>>
  /**
   * The frames for one watcher that has seen `after` (a version; -1 for none), for as long as the scope is open:
   * the latest snapshot if it is newer (else a ping, so that the client knows it is connected), then every newer
   * snapshot and a ping every `PING_INTERVAL`, ending after the terminal snapshot or when the feed ends.
   */
  readonly join: (after: number) => Effect.Effect<Readable, never, Scope.Scope>
  /** Watchers joined now. */
  readonly size: Effect.Effect<number>
}

type Registry = Context.Tag.Service<typeof TaskRegistry>

/** How `watch` fails when the task cannot be watched (not found, expired, the store unavailable). */
export type WatchError = Stream.Stream.Error<ReturnType<Registry["watch"]>>

/** A stream's end on a store failure: its readers end, and reconnect (with `Last-Event-ID`). */
const endOnFailure = <A, E>(stream: Stream.Stream<A, E>) =>
  Stream.catchAllCause(stream, (cause) =>
    Stream.fromEffect(Effect.logWarning("An event stream ended on a failure", cause)).pipe(Stream.drain)
  )

/**
 * The feeds of watched tasks, for as long as the scope is open: `get` answers the task's feed, made with one
 * `registry.watch` when it has none (failing as `watch` fails, before any frame: 404, 410) and released when the
 * last scope that got it closes. Every feed ends when `closing` completes.
 */
export const make = (registry: Registry, closing: Deferred.Deferred<void>) =>
  Effect.gen(function* () {
    const feeds: RcMap.RcMap<TaskId, TaskFeed, WatchError> = yield* RcMap.make({
      lookup: (id: TaskId) =>
        Effect.gen(function* () {
          // `toPull` in the feed's scope: the first snapshot is read here, so that a task not found or expired fails
          // the request itself; the rest is read by the broadcast's one fiber.
          const pull = yield* Stream.toPull(registry.watch(id))
          const first = yield* Effect.catchAll(pull, (e) =>
            Option.match(e, { onNone: () => Effect.succeed(Chunk.empty<Task>()), onSome: Effect.fail })
          )
          const initial = Chunk.head(first)
          const rest = Stream.repeatEffectChunkOption(pull)
          const snapshots: Stream.Stream<Item> = Stream.concat(
            Stream.fromChunk(Chunk.drop(first, 1)),
            endOnFailure(rest)
          )
          const pings = Stream.as(Stream.fromSchedule(Schedule.spaced(PING_INTERVAL)), null)
          const upstream = Stream.merge(snapshots, pings, { haltStrategy: "left" }).pipe(
            Stream.interruptWhen(Deferred.await(closing)),
            // A feed that has ended is not handed to new watchers: the next gets a fresh one.
            Stream.ensuring(RcMap.invalidate(feeds, id))
          )
          const broadcast = yield* Broadcast.make<Item>(upstream, {
            encode: (item) => (item === null ? PING : statusEvent(item, true)),
            capacity: WATCHER_BUFFER,
            remember: (item) => item !== null,
            ...(Option.isSome(initial) ? { initial: initial.value } : {})
          })
          const feed: TaskFeed = {
            latest: Effect.map(broadcast.latest, Option.flatMap(Option.fromNullable)),
            join: (after) =>
              broadcast.join(
                (latest) =>
                  Option.match(latest, {
                    onNone: () => [PING],
                    onSome: ([task, frame]) => (task !== null && task.version > after ? [frame] : [PING])
                  }),
                (item) => item === null || item.version > after
              ),
            size: broadcast.size
          }
          return feed
        }),
      idleTimeToLive: 0
    })
    return { get: (id: TaskId) => RcMap.get(feeds, id) }
  })
