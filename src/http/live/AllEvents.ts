import { Sse } from "@effect/experimental"
import { Effect, Schedule, Stream } from "effect"
import type { RegistryEvent, RegistryStats } from "../../services/TaskRegistry.js"
import type { RegistryUnavailable } from "../../domain/Errors.js"
import { isoTime, toTaskStatusJson } from "../api/Wire.js"
import { statsEvent } from "./Sse.js"

// GET /api/events, as frames: every change (`event: status`) and eviction (`event: evicted`) with its registry-wide
// `id:`, from which a reconnect with `Last-Event-ID` resumes; `event: missed` first when the history no longer holds
// the id resumed from (read the list again); the counts (`event: stats`) at most once a second while changes happen.
// A reader that falls behind is ended after the last event it was given: its reconnect resumes from that event's id.

/** How often, at most, `GET /api/events` sends the registry's counts while changes happen. */
export const STATS_INTERVAL = "1 second"

const utf8 = new TextEncoder()

/** Frames by event: every client of /api/events given one event shares its bytes. */
const frames = new WeakMap<RegistryEvent, Uint8Array>()

/** A change or an eviction as its frame, with its id. */
export const eventFrame = (event: Exclude<RegistryEvent, { _tag: "Missed" }>): Uint8Array => {
  let bytes = frames.get(event)
  if (bytes === undefined) {
    const data =
      event._tag === "Changed"
        ? toTaskStatusJson(event.task)
        : {
            task_id: event.tombstone.id,
            status: event.tombstone.status,
            completed_at: isoTime(event.tombstone.completedAt),
            evicted_at: isoTime(event.tombstone.evictedAt),
            cause: event.cause
          }
    bytes = utf8.encode(
      Sse.encoder.write({
        _tag: "Event",
        event: event._tag === "Changed" ? "status" : "evicted",
        id: event.id,
        data: JSON.stringify(data)
      })
    )
    frames.set(event, bytes)
  }
  return bytes
}

/** Tells a client that resumed from an id the history no longer holds to read the list again. */
export const MISSED_FRAME = utf8.encode(
  Sse.encoder.write({
    _tag: "Event",
    event: "missed",
    id: undefined,
    data: JSON.stringify({ message: "Events were missed: read the list (GET /api/tasks) again" })
  })
)

/**
 * A registry's event stream (`events`, or `eventsAfter` for a client that resumes, `resumed`) as SSE frames, with
 * the counts on the next tick after any change: on a resumed stream, `Missed` as the first event becomes
 * `event: missed` and the stream goes on; any other `Missed` ends it.
 */
export const changeFrames = (
  events: Stream.Stream<RegistryEvent, RegistryUnavailable>,
  stats: Effect.Effect<RegistryStats, RegistryUnavailable>,
  resumed: boolean
): Stream.Stream<Uint8Array, RegistryUnavailable> => {
  const ticks = Stream.as(Stream.fromSchedule(Schedule.spaced(STATS_INTERVAL)), "tick" as const)
  let first = resumed
  const changes = events.pipe(
    Stream.takeWhile((event) => {
      const go = event._tag !== "Missed" || first
      first = false
      return go
    })
  )
  return changes.pipe(
    Stream.merge(ticks, { haltStrategy: "left" }),
    Stream.mapAccumEffect(
      false,
      (dirty, input: RegistryEvent | "tick"): Effect.Effect<readonly [boolean, ReadonlyArray<Uint8Array>]> => {
        if (input === "tick") {
          if (!dirty) return Effect.succeed([false, []])
          return stats.pipe(
            Effect.map((s) => [false, [statsEvent(s)]] as const),
            Effect.orElseSucceed(() => [true, []] as const)
          )
        }
        if (input._tag === "Missed") return Effect.succeed([dirty, [MISSED_FRAME]])
        return Effect.succeed([true, [eventFrame(input)]])
      }
    ),
    Stream.flattenIterables
  )
}

/** `changeFrames` after the counts `initial`: one client's whole stream. */
export const allEventFrames = (
  events: Stream.Stream<RegistryEvent, RegistryUnavailable>,
  initial: RegistryStats,
  stats: Effect.Effect<RegistryStats, RegistryUnavailable>,
  resumed: boolean
): Stream.Stream<Uint8Array, RegistryUnavailable> =>
  Stream.concat(Stream.make(statsEvent(initial)), changeFrames(events, stats, resumed))
