import type { Scope } from "effect"
import { Effect, MutableHashMap, Option, PubSub, Stream } from "effect"
import * as Task from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"

/** Snapshots a watcher that has stopped reading may fall behind by, per task, before older ones are dropped. */
const WATCH_BUFFER = 64

/**
 * The channels through which a store tells its watchers of changes: one per watched task, shared by its watchers and
 * dropped when the last one leaves. Each is sliding: a watcher that stops reading holds at most `WATCH_BUFFER`
 * snapshots, and the newest is never the one dropped.
 */
export const make = Effect.sync(() => {
  // Changed only inside `Effect.sync` steps, each of which runs whole: so it can also be read synchronously, by a
  // store that sorts out notices as they arrive, before any fiber runs.
  const channels = MutableHashMap.empty<
    TaskId,
    { readonly pubsub: PubSub.PubSub<Task.Task>; readonly watchers: number }
  >()

  /** Tells the task's watchers (when it has some) of its new snapshot. */
  const publish = (task: Task.Task) =>
    Effect.suspend(() =>
      Option.match(MutableHashMap.get(channels, task.id), {
        onNone: () => Effect.void,
        onSome: (channel) => Effect.asVoid(PubSub.publish(channel.pubsub, task))
      })
    )

  /** Whether the task has a watcher right now, read synchronously. */
  const unsafeIsWatched = (id: TaskId) => MutableHashMap.has(channels, id)

  /** The tasks watched right now. */
  const watched = Effect.sync(() => Array.from(MutableHashMap.keys(channels)))

  /** How many watchers there are right now, over all tasks. */
  const watchers = Effect.sync(() => {
    let n = 0
    for (const [, channel] of channels) n += channel.watchers
    return n
  })

  /** The task's channel, for as long as the scope is open: made for its first watcher, dropped after its last. */
  const channelOf = (id: TaskId): Effect.Effect<PubSub.PubSub<Task.Task>, never, Scope.Scope> =>
    Effect.acquireRelease(
      Effect.flatMap(PubSub.sliding<Task.Task>(WATCH_BUFFER), (fresh) =>
        Effect.sync(() => {
          const entry = Option.getOrElse(MutableHashMap.get(channels, id), () => ({ pubsub: fresh, watchers: 0 }))
          MutableHashMap.set(channels, id, { ...entry, watchers: entry.watchers + 1 })
          return entry.pubsub
        })
      ),
      () =>
        Effect.sync(() =>
          Option.match(MutableHashMap.get(channels, id), {
            onNone: () => undefined,
            onSome: (entry) =>
              entry.watchers <= 1
                ? MutableHashMap.remove(channels, id)
                : MutableHashMap.set(channels, id, { ...entry, watchers: entry.watchers - 1 })
          })
        )
    )

  /**
   * The task's snapshots, read with `get`: the current one first, then one per change, ending after the terminal
   * state. It subscribes before its second read, so that no change between a read and the subscription is missed.
   */
  const watch = <E>(id: TaskId, get: (id: TaskId) => Effect.Effect<Task.Task, E>): Stream.Stream<Task.Task, E> =>
    Stream.unwrapScoped(
      Effect.gen(function* () {
        // A finished task is its own last snapshot: no need to hear of changes.
        const now = yield* get(id)
        if (Task.isFinished(now)) return Stream.make(now)
        const subscription = yield* PubSub.subscribe(yield* channelOf(id))
        const first = yield* get(id)
        if (Task.isFinished(first)) return Stream.make(first)
        let version = first.version
        const later = Stream.fromQueue(subscription).pipe(
          // Each snapshot is whole, so one that arrives after a newer one says nothing new.
          Stream.filter((t) => t.id === id && t.version > version),
          Stream.tap((t) => Effect.sync(() => (version = t.version))),
          Stream.takeUntil(Task.isFinished)
        )
        return Stream.concat(Stream.make(first), later)
      })
    )

  return { publish, unsafeIsWatched, watched, watchers, watch }
})
