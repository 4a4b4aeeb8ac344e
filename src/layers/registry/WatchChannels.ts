import type { Scope } from "effect"
import { Effect, MutableHashMap, Option, Stream } from "effect"
import * as Task from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import * as Subscribers from "./Subscribers.js"

/** Snapshots a watcher that has stopped reading may fall behind by, per task, before it reads the record again. */
export const WATCH_BUFFER = 64

/** What a watcher's subscription gives after its last snapshot when it fell behind. */
const FELL_BEHIND = "fell behind" as const

/**
 * The channels through which a store tells its watchers of changes: one per watched task, shared by its watchers and
 * dropped when the last one leaves. Each watcher has a buffer of its own of `WATCH_BUFFER` snapshots; one that falls
 * further behind reads the record again (see `watch`), so that it never silently skips the end.
 */
export const make = Effect.sync(() => {
  // Changed only inside synchronous steps, each of which runs whole: so it can also be read synchronously, by a
  // store that sorts out notices as they arrive, before any fiber runs.
  const channels = MutableHashMap.empty<
    TaskId,
    { readonly subscribers: Subscribers.Subscribers<Task.Task>; readonly watchers: number }
  >()

  /**
   * Tells the task's watchers (when it has some) of its new snapshot, synchronously: a store calls it in the same
   * step as the change, so that watchers get a task's snapshots in version order.
   */
  const unsafePublish = (task: Task.Task) => {
    const channel = MutableHashMap.get(channels, task.id)
    if (Option.isSome(channel)) channel.value.subscribers.publish(task)
  }

  /** `unsafePublish` as an effect. */
  const publish = (task: Task.Task) => Effect.sync(() => unsafePublish(task))

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

  /** A subscription to the task's snapshots for as long as the scope is open; its channel goes with its last one. */
  const subscribe = (id: TaskId): Effect.Effect<Stream.Stream<Task.Task | typeof FELL_BEHIND>, never, Scope.Scope> =>
    Effect.acquireRelease(
      Effect.sync(() => {
        const entry = Option.getOrElse(MutableHashMap.get(channels, id), () => ({
          subscribers: Subscribers.make<Task.Task>(WATCH_BUFFER),
          watchers: 0
        }))
        MutableHashMap.set(channels, id, { ...entry, watchers: entry.watchers + 1 })
        return entry.subscribers
      }),
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
    ).pipe(Effect.flatMap((subscribers) => subscribers.subscribe(FELL_BEHIND)))

  /**
   * The task's snapshots newer than `after`, read with `get`: the current one first, then one per change, ending
   * after the terminal state. It subscribes before its second read, so that no change between a read and the
   * subscription is missed. A watcher that fell behind reads the record again and goes on from there: it may skip
   * snapshots in between (their versions show it), never the terminal one.
   */
  const follow = <E>(
    id: TaskId,
    get: (id: TaskId) => Effect.Effect<Task.Task, E>,
    after: number
  ): Stream.Stream<Task.Task, E> =>
    Stream.suspend(() => {
      let version = after
      let fellBehind = false
      const once = Stream.unwrapScoped(
        Effect.gen(function* () {
          // A finished task is its own last snapshot: no need to hear of changes.
          const now = yield* get(id)
          if (Task.isFinished(now)) return now.version > after ? Stream.make(now) : Stream.empty
          const subscription = yield* subscribe(id)
          const first = yield* get(id)
          if (Task.isFinished(first)) return first.version > after ? Stream.make(first) : Stream.empty
          const head = first.version > after ? Stream.make(first) : Stream.empty
          version = Math.max(after, first.version)
          const later = subscription.pipe(
            Stream.takeWhile((t): t is Task.Task => {
              if (t !== FELL_BEHIND) return true
              fellBehind = true
              return false
            }),
            // Each snapshot is whole, so one that arrives after a newer one (or again) says nothing new. The version
            // is moved on in the filter itself, element by element: a filter and then a tap would compare a whole
            // chunk against the version before it, and let a repeat or an older snapshot in the same chunk through.
            Stream.filter((t) => {
              if (t.version <= version) return false
              version = t.version
              return true
            }),
            Stream.takeUntil(Task.isFinished)
          )
          return Stream.concat(head, later)
        })
      )
      // Its subscription closed, a watcher that fell behind starts again from the record as it is now.
      return Stream.concat(
        once,
        Stream.suspend(() => (fellBehind ? follow(id, get, version) : Stream.empty))
      )
    })

  const watch = <E>(id: TaskId, get: (id: TaskId) => Effect.Effect<Task.Task, E>): Stream.Stream<Task.Task, E> =>
    follow(id, get, -1)

  return { publish, unsafePublish, unsafeIsWatched, watched, watchers, watch }
})
