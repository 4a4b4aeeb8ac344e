import type { Scope } from "effect"
import { Effect, Option, Queue, Stream } from "effect"

/** Put in a reader's queue, after the last item it was given, when it fell behind. */
const MISSED: unique symbol = Symbol("storyflow/Subscribers/missed")

/**
 * Readers of a sequence of items, each with a bounded buffer of its own. `publish` is synchronous and never waits:
 * a store calls it in the same step as the change it tells of, so that readers get changes in the order the store
 * made them. A reader whose buffer is full when an item comes is dropped: it gets what it had been given, then the
 * `missed` value it subscribed with, and its stream ends. No reader silently skips an item, and none holds up the
 * writer or the other readers.
 */
export interface Subscribers<A> {
  /** Gives `item` to every reader now, synchronously. */
  readonly publish: (item: A) => void
  /**
   * A reader from now on, for as long as the scope is open: the items published from now, then, if it fell
   * behind, `missed`, after which it ends.
   */
  readonly subscribe: <B>(missed: B) => Effect.Effect<Stream.Stream<A | B>, never, Scope.Scope>
  /** Tells every reader now that it missed items (each gets `missed` after what it was given, and ends). */
  readonly missAll: () => void
  /** How many readers there are now. */
  readonly size: () => number
}

export const make = <A>(capacity: number): Subscribers<A> => {
  const readers = new Set<Queue.Queue<A | typeof MISSED>>()

  const publish = (item: A) => {
    for (const queue of readers) {
      // The queue itself is unbounded, so that the word `missed` always fits: the bound is kept here.
      if (Option.getOrElse(queue.unsafeSize(), () => 0) >= capacity) {
        readers.delete(queue)
        queue.unsafeOffer(MISSED)
      } else {
        queue.unsafeOffer(item)
      }
    }
  }

  const missAll = () => {
    for (const queue of readers) queue.unsafeOffer(MISSED)
    readers.clear()
  }

  const subscribe = <B>(missed: B) =>
    Effect.acquireRelease(
      Effect.flatMap(Queue.unbounded<A | typeof MISSED>(), (queue) => Effect.sync(() => (readers.add(queue), queue))),
      (queue) =>
        Effect.zipRight(
          Effect.sync(() => readers.delete(queue)),
          Queue.shutdown(queue)
        )
    ).pipe(
      Effect.map((queue): Stream.Stream<A | B> =>
        Stream.fromQueue(queue).pipe(
          Stream.takeUntil((item) => item === MISSED),
          Stream.map((item) => (item === MISSED ? missed : (item as A)))
        )
      )
    )

  return { publish, subscribe, missAll, size: () => readers.size }
}
