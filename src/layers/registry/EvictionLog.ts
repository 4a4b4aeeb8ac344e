import type { Scope } from "effect"
import { Clock, Duration, Effect, Ref } from "effect"
import * as Loops from "./Loops.js"

/** How often, at most, evictions made in passing are said: one line a minute at steady state. */
export const SUMMARY_EVERY = Duration.minutes(1)

/** Logs an eviction at Info, with its count as an annotation; nothing when nothing was evicted. */
const say = (count: number, suffix = "") =>
  count === 0
    ? Effect.void
    : Effect.logInfo(`Cleaned up ${count} finished task(s)${suffix}`).pipe(Effect.annotateLogs("evicted", count))

/** What is said a while after it happened. */
const summarise = (count: number) => say(count, " in the last minute")

/**
 * How a store says what it evicted. A sweep says its count at once. Under `TASK_MAX_RETAINED` nearly every finish
 * evicts a record in passing (as does a submit or a read past the threshold), and a line for each would drown the
 * log: such evictions are said at once when no such line was said in the last minute, and otherwise counted and
 * said together a minute after that line (and when the store's scope closes, so that nothing counted goes unsaid).
 */
export interface EvictionLog {
  /** Says at once how many records a sweep evicted. */
  readonly swept: (count: number) => Effect.Effect<void>
  /** Says, or counts for the next summary, how many records a step evicted in passing. */
  readonly evicted: (count: number) => Effect.Effect<void>
}

interface State {
  /** Evicted in passing and not said yet. */
  readonly pending: number
  /** When the last line about evictions in passing was said. */
  readonly lastLine: number
}

/** What the summarising fiber does next: wait for a count, wait until a line is due, or say a count. */
type Next =
  | { readonly _tag: "Idle" }
  | { readonly _tag: "Wait"; readonly millis: number }
  | { readonly _tag: "Say"; readonly count: number }

/** A store's eviction log, whose summarising fiber lives in the scope. */
export const make: Effect.Effect<EvictionLog, never, Scope.Scope> = Effect.gen(function* () {
  const every = Duration.toMillis(SUMMARY_EVERY)
  const state = yield* Ref.make<State>({ pending: 0, lastLine: Number.NEGATIVE_INFINITY })
  // Open while a count may be waiting to be said; the fiber sleeps on it otherwise, so that an idle store (or a
  // test clock moved on by a day) does not wake it once a minute.
  const counted = yield* Effect.makeLatch(false)

  const evicted = (count: number) =>
    count === 0
      ? Effect.void
      : Clock.currentTimeMillis.pipe(
          Effect.flatMap((now) =>
            Ref.modify(state, (s): [number, State] =>
              now - s.lastLine >= every
                ? [s.pending + count, { pending: 0, lastLine: now }]
                : [0, { pending: s.pending + count, lastLine: s.lastLine }]
            )
          ),
          Effect.flatMap((due) => (due > 0 ? say(due) : counted.open))
        )

  const next = (now: number) =>
    Ref.modify(state, (s): [Next, State] =>
      s.pending === 0
        ? [{ _tag: "Idle" }, s]
        : now - s.lastLine >= every
          ? [
              { _tag: "Say", count: s.pending },
              { pending: 0, lastLine: now }
            ]
          : [{ _tag: "Wait", millis: s.lastLine + every - now }, s]
    )

  // Closed before the count is read, and opened by `evicted` after it counts: a count made meanwhile is either read
  // here or opens the latch again, never missed.
  const summariseWhenDue = Effect.gen(function* () {
    yield* counted.close
    for (;;) {
      const step = yield* Effect.flatMap(Clock.currentTimeMillis, next)
      if (step._tag === "Idle") return yield* counted.await
      if (step._tag === "Say") return yield* summarise(step.count)
      yield* Effect.sleep(Duration.millis(step.millis))
    }
  })

  yield* Effect.addFinalizer(() =>
    Effect.flatMap(
      Ref.modify(state, (s): [number, State] => [s.pending, { ...s, pending: 0 }]),
      summarise
    )
  )
  yield* Loops.supervised("The eviction log", summariseWhenDue).pipe(Effect.forkScoped)

  return { swept: (count: number) => say(count), evicted }
})
