import type { Scope } from "effect"
import { Effect, Option, Stream } from "effect"
import { Readable } from "node:stream"

// One upstream, many readers: what lets a thousand clients watch one task for the price of one. The upstream is read
// by one fiber; each item is encoded once into its frame, and that same frame is handed to every subscriber in one
// synchronous step. A subscriber is a node `Readable` (the body of its HTTP response, piped to the socket by the
// platform), so a change costs one stream step plus one `push` per subscriber, with no fiber woken per subscriber.
// Each subscriber's buffer is bounded: one that has `capacity` frames waiting unread is ended (destroyed, which cuts
// its connection) and dropped; it never holds up the upstream or the others.

/** A joiner's first frames, made from the latest item and its frame (none before the first). */
export type First<A> = (latest: Option.Option<readonly [A, Uint8Array]>) => ReadonlyArray<Uint8Array>

export interface Broadcast<A> {
  /**
   * Joins, for as long as the scope is open: in one step with no item in between, the frames `first` makes of the
   * latest item, then the frame of every later item that `accept` keeps, in order. Answers the frames as a
   * `Readable`, which ends when the upstream ends (at once if it already has), and is destroyed if its reader falls
   * `capacity` frames behind or when the scope closes.
   */
  readonly join: (first: First<A>, accept?: (item: A) => boolean) => Effect.Effect<Readable, never, Scope.Scope>
  /** The latest item (of those `remember` keeps), if any came yet. */
  readonly latest: Effect.Effect<Option.Option<A>>
  /** Subscribers joined now. */
  readonly size: Effect.Effect<number>
}

export interface Options<A> {
  /** An item's frame: called once per item, whatever the number of subscribers. */
  readonly encode: (item: A) => Uint8Array
  /** Frames a subscriber may have waiting unread; one more ends it. */
  readonly capacity: number
  /** Whether an item becomes the latest, given to joiners (all do by default; a ping does not). */
  readonly remember?: (item: A) => boolean
  /** The latest item to begin with, before the upstream's first. */
  readonly initial?: A
}

interface Subscriber<A> {
  readonly readable: Readable
  readonly accept: ((item: A) => boolean) | undefined
}

/**
 * Reads `upstream` in a fiber of the current scope and hands each item's frame to every subscriber; when it ends
 * (or the scope closes), every subscriber's stream ends after what it was given.
 */
export const make = <A>(
  upstream: Stream.Stream<A>,
  options: Options<A>
): Effect.Effect<Broadcast<A>, never, Scope.Scope> =>
  Effect.gen(function* () {
    const subscribers = new Set<Subscriber<A>>()
    let latest: Option.Option<readonly [A, Uint8Array]> =
      options.initial === undefined ? Option.none() : Option.some([options.initial, options.encode(options.initial)])
    let ended = false

    const drop = (subscriber: Subscriber<A>) => {
      subscribers.delete(subscriber)
      subscriber.readable.destroy()
    }

    const deliver = (item: A) => {
      const frame = options.encode(item)
      if (options.remember === undefined || options.remember(item)) latest = Option.some([item, frame])
      for (const subscriber of subscribers) {
        if (subscriber.accept !== undefined && !subscriber.accept(item)) continue
        const readable = subscriber.readable
        // Destroyed by its reader's going (the platform's pipeline destroys it with the response), or too far behind.
        if (readable.destroyed || readable.readableLength >= options.capacity) drop(subscriber)
        else readable.push(frame)
      }
    }

    const end = () => {
      ended = true
      for (const subscriber of subscribers) subscriber.readable.push(null)
      subscribers.clear()
    }

    yield* upstream.pipe(
      Stream.runForEach((item) => Effect.sync(() => deliver(item))),
      Effect.ensuring(Effect.sync(end)),
      Effect.forkScoped
    )

    const join = (first: First<A>, accept?: (item: A) => boolean) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const subscriber: Subscriber<A> = {
            // Object mode: `readableLength` counts frames, and each frame is passed on as it is.
            readable: new Readable({ objectMode: true, highWaterMark: options.capacity, read() {} }),
            accept
          }
          for (const frame of first(latest)) subscriber.readable.push(frame)
          if (ended) subscriber.readable.push(null)
          else subscribers.add(subscriber)
          return subscriber
        }),
        (subscriber) => Effect.sync(() => drop(subscriber))
      ).pipe(Effect.map((subscriber) => subscriber.readable))

    return {
      join,
      latest: Effect.sync(() => Option.map(latest, ([item]) => item)),
      size: Effect.sync(() => subscribers.size)
    }
  })
