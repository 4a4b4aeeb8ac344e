import { Effect, Stream } from "effect"
import type { RegistryEvent, UntoldEvent } from "../../services/TaskRegistry.js"
import * as Subscribers from "./Subscribers.js"

/** Events a reader of `events` that has stopped reading may fall behind by before it is told it missed some. */
export const EVENTS_BUFFER = 4096

/** Events the in-memory store keeps for readers that resume (`eventsAfter`). */
export const HISTORY = 10_000

const MISSED: RegistryEvent = { _tag: "Missed" }

/**
 * `live` after the events `held` (or `Missed`, then `live`, when the history does not hold the id resumed from):
 * `live` was subscribed to before the history was read, so that nothing falls between them; what it has that the
 * history gave already (ids not after `last`) is dropped.
 */
export const resume = (
  live: Stream.Stream<RegistryEvent>,
  held: ReadonlyArray<RegistryEvent> | undefined,
  isAfter: (id: string, last: string) => boolean,
  resumedFrom: string
): Stream.Stream<RegistryEvent> => {
  if (held === undefined) return Stream.concat(Stream.make(MISSED), live)
  const lastEvent = held.at(-1)
  const last = lastEvent !== undefined && lastEvent._tag !== "Missed" ? lastEvent.id : resumedFrom
  return Stream.concat(
    Stream.fromIterable(held),
    Stream.filter(live, (event) => event._tag === "Missed" || isAfter(event.id, last))
  )
}

/**
 * The in-memory store's events: ids `{epoch}-{n}` from one sequence (the epoch names this registry, so that an id of
 * another, or of before a restart, is told apart), the last `HISTORY` of them in a ring for readers that resume, and
 * the readers, each with a buffer of `EVENTS_BUFFER`. `unsafePublish` is synchronous: the store calls it in the step
 * that makes the change, so that readers and the ring get changes in the order they were made.
 */
export const make = (options: { readonly history?: number; readonly buffer?: number } = {}) => {
  const capacity = options.history ?? HISTORY
  const epoch = `e${Math.floor(Math.random() * 36 ** 8).toString(36)}`
  const ring = new Array<RegistryEvent>(capacity)
  const subscribers = Subscribers.make<RegistryEvent>(options.buffer ?? EVENTS_BUFFER)
  let seq = 0

  const unsafePublish = (untold: UntoldEvent) => {
    seq += 1
    const event = { ...untold, id: `${epoch}-${seq}` } as RegistryEvent
    ring[seq % capacity] = event
    subscribers.publish(event)
  }

  /** The number in one of this registry's ids; undefined for any other string. */
  const seqOf = (id: string) => {
    const dash = id.lastIndexOf("-")
    if (dash === -1 || id.slice(0, dash) !== epoch) return undefined
    const n = Number(id.slice(dash + 1))
    return Number.isSafeInteger(n) && n >= 0 ? n : undefined
  }

  /** The events after `id`, if the ring still holds every one of them. */
  const after = (id: string): ReadonlyArray<RegistryEvent> | undefined => {
    const n = seqOf(id)
    if (n === undefined || n > seq || n < seq - capacity) return undefined
    const held: Array<RegistryEvent> = []
    for (let i = n + 1; i <= seq; i++) held.push(ring[i % capacity]!)
    return held
  }

  const isAfter = (id: string, last: string) => (seqOf(id) ?? 0) > (seqOf(last) ?? 0)

  const events: Stream.Stream<RegistryEvent> = Stream.unwrapScoped(subscribers.subscribe(MISSED))

  const eventsAfter = (lastEventId: string): Stream.Stream<RegistryEvent> =>
    Stream.unwrapScoped(
      Effect.map(subscribers.subscribe(MISSED), (live) => resume(live, after(lastEventId), isAfter, lastEventId))
    )

  return { unsafePublish, events, eventsAfter }
}
