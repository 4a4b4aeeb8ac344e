import type { Scope } from "effect"
import { Effect, Option, Stream } from "effect"
import { Readable } from "node:stream"

// One upstream, many readers: what lets a thousand clients watch one task for the price of one. The upstream is read
// by one fiber; each item is encoded once into its frame, and that same frame is handed to every subscriber in one
// synchronous step. A subscriber is a `Sink`: the HTTP response itself for a stream served ahead of the platform
// (./StreamIntercept.ts), which the frame is written to at once, or a node `Readable` that the platform pipes to its
// response. A change costs one stream step plus one write per subscriber, with no fiber woken per subscriber. Each
// subscriber's buffer is bounded: one that has `capacity` frames waiting unread is cut (which cuts its connection)
// and dropped; it never holds up the upstream or the others.

/** A joiner's first frames, made from the latest item and its frame (none before the first). */
export type First<A> = (latest: Option.Option<readonly [A, Uint8Array]>) => ReadonlyArray<Uint8Array>

/** Where one subscriber's frames go. */
export interface Sink {
  /** Takes the next frame. */
  readonly write: (frame: Uint8Array) => void
  /** Ends after the frames it was given. */
  readonly end: () => void
  /** Cuts it: its reader is too far behind, or its scope closed (a response that has ended is left to finish). */
  readonly cut: () => void
  /** Frames it was given that its reader has not taken yet. */
  readonly backlog: () => number
  /** Whether its reader has gone (or it was cut). */
  readonly gone: () => boolean
}

/** A `Readable` of frames (object mode: each frame is passed on as it is), and the sink that fills it. */
export const readableSink = (): { readonly readable: Readable; readonly sink: Sink } => {
  const readable = new Readable({ objectMode: true, read() {} })
  return {
    readable,
    sink: {
      write: (frame) => readable.push(frame),
      end: () => readable.push(null),
      // Destroyed by its reader's going (the platform's pipeline destroys it with the response), or cut here.
      cut: () => readable.destroy(),
      backlog: () => readable.readableLength,
      gone: () => readable.destroyed
    }
  }
}

export interface Broadcast<A> {
  /**
   * Adds `sink`, for as long as the scope is open: in one step with no item in between, the frames `first` makes of
   * the latest item, then the frame of every later item that `accept` keeps, in order. Ends it when the upstream
   * ends (at once if it already has); cuts it if its reader falls `capacity` frames behind or when the scope closes.
   */
  readonly attach: (
    sink: Sink,
    first: First<A>,
    accept?: (item: A) => boolean
  ) => Effect.Effect<void, never, Scope.Scope>
  /** `attach` with a `Readable` (`readableSink`), answered: it is destroyed when cut. */
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
  readonly sink: Sink
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
      subscriber.sink.cut()
    }

    const deliver = (item: A) => {
      const frame = options.encode(item)
      if (options.remember === undefined || options.remember(item)) latest = Option.some([item, frame])
      for (const subscriber of subscribers) {
        if (subscriber.accept !== undefined && !subscriber.accept(item)) continue
        const sink = subscriber.sink
        if (sink.gone() || sink.backlog() >= options.capacity) drop(subscriber)
        else sink.write(frame)
      }
    }

    const end = () => {
      ended = true
      for (const subscriber of subscribers) subscriber.sink.end()
      subscribers.clear()
    }

    yield* upstream.pipe(
      Stream.runForEach((item) => Effect.sync(() => deliver(item))),
      Effect.ensuring(Effect.sync(end)),
      Effect.forkScoped
    )

    const attach = (sink: Sink, first: First<A>, accept?: (item: A) => boolean) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          const subscriber: Subscriber<A> = { sink, accept }
          for (const frame of first(latest)) sink.write(frame)
          if (ended) sink.end()
          else subscribers.add(subscriber)
          return subscriber
        }),
        (subscriber) => Effect.sync(() => drop(subscriber))
      )

    const join = (first: First<A>, accept?: (item: A) => boolean) =>
      Effect.suspend(() => {
        const { readable, sink } = readableSink()
        return Effect.as(attach(sink, first, accept), readable)
      })

    return {
      attach,
      join,
      latest: Effect.sync(() => Option.map(latest, ([item]) => item)),
      size: Effect.sync(() => subscribers.size)
    }
  })
