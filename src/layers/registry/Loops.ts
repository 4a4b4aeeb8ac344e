import { Cause, Clock, Duration, Effect, Exit } from "effect"

/**
 * Background loops that survive whatever goes wrong: the workers, the sweep, the Redis store's renewals, reaps and
 * subscription, audio retention. A step that fails, or dies (a defect), is tried again after a wait that starts at
 * `initial` and doubles with each failure in a row, up to `cap`; a success ends the streak and the next failure
 * waits `initial` again. Only interruption (the loop's scope closing) stops a loop.
 *
 * A streak is logged, not each failure: its first failure at Warning with its cause, then at most one Warning a
 * `summaryEvery` saying how many have failed so far (each other failure at Debug), and on recovery one Info line
 * saying after how many.
 */
export interface Options {
  /** The wait after the first failure in a row (100 ms). */
  readonly initial?: Duration.DurationInput
  /** The longest wait between tries (30 s). */
  readonly cap?: Duration.DurationInput
  /** How often a streak that goes on is said to go on (1 minute). */
  readonly summaryEvery?: Duration.DurationInput
}

export interface Loop {
  /** What the loop is called in its log lines, e.g. "The sweep". */
  readonly name: string
  /**
   * Runs `step` until it succeeds: each failure (interruption aside) is counted in the streak, logged as the streak
   * allows, and waited on. Its success ends the streak.
   */
  readonly retrying: <A, E, R>(step: Effect.Effect<A, E, R>) => Effect.Effect<A, never, R>
  /** Says the loop works again (a worker's claim answered): ends the streak, with one Info line if there was one. */
  readonly healthy: Effect.Effect<void>
  /** Failures in the current streak (0 when there is none). */
  readonly failures: () => number
}

/**
 * A loop's streak and back-off, shared by every fiber that runs its steps (all the workers of a layer are one loop:
 * a store that fails them all makes one streak, logged once, and their waits grow together).
 */
export const make = (name: string, options: Options = {}): Effect.Effect<Loop> =>
  Effect.sync(() => {
    const initial = Duration.toMillis(options.initial ?? "100 millis")
    const cap = Duration.toMillis(options.cap ?? "30 seconds")
    const summaryEvery = Duration.toMillis(options.summaryEvery ?? "1 minute")
    let failures = 0
    let since = 0
    let lastLine = 0

    const waitAfter = (n: number) => Math.min(cap, initial * 2 ** Math.min(n - 1, 40))
    const show = (ms: number) => Duration.format(Duration.millis(Math.max(0, Math.round(ms))))

    const failed = (cause: Cause.Cause<unknown>) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        failures++
        const wait = waitAfter(failures)
        if (failures === 1) {
          since = now
          lastLine = now
          yield* Effect.logWarning(
            `${name} failed; trying again in ${show(wait)}, then less often (at most every ${show(cap)}) until it works`,
            cause
          )
        } else if (now - lastLine >= summaryEvery) {
          lastLine = now
          yield* Effect.logWarning(
            `${name} is still failing: ${failures} failures in a row over ${show(now - since)}; ` +
              `trying again every ${show(wait)}`,
            cause
          )
        } else {
          yield* Effect.logDebug(`${name} failed again (${failures} in a row); trying again in ${show(wait)}`)
        }
        yield* Effect.sleep(Duration.millis(wait))
      }).pipe(Effect.annotateLogs("loop", name))

    const healthy = Effect.suspend(() => {
      if (failures === 0) return Effect.void
      const n = failures
      failures = 0
      return Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.logInfo(`${name} recovered after ${n} failure(s) over ${show(now - since)}`)
      ).pipe(Effect.annotateLogs({ loop: name, failures: n }))
    })

    const retrying = <A, E, R>(step: Effect.Effect<A, E, R>): Effect.Effect<A, never, R> =>
      Effect.gen(function* () {
        for (;;) {
          const exit = yield* Effect.exit(step)
          if (Exit.isSuccess(exit)) {
            yield* healthy
            return exit.value
          }
          // Only interruption stops a loop: its scope is closing. (Such a cause holds no failure to lose.)
          if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.failCause(exit.cause as Cause.Cause<never>)
          yield* failed(exit.cause)
        }
      })

    return { name, retrying, healthy, failures: () => failures }
  })

/** Runs `step` for ever, as loop `name`: each run retried until it works. */
export const supervised = <A, E, R>(
  name: string,
  step: Effect.Effect<A, E, R>,
  options?: Options
): Effect.Effect<never, never, R> => Effect.flatMap(make(name, options), (loop) => Effect.forever(loop.retrying(step)))

/**
 * Runs `step` every `interval` (the first one interval from now), as loop `name`: a run that fails is retried with
 * the loop's back-off, and the next interval counts from when it worked.
 */
export const every = <A, E, R>(
  name: string,
  interval: Duration.DurationInput,
  step: Effect.Effect<A, E, R>,
  options?: Options
): Effect.Effect<never, never, R> =>
  Effect.flatMap(make(name, options), (loop) =>
    Effect.forever(Effect.zipRight(Effect.sleep(interval), loop.retrying(step)))
  )
