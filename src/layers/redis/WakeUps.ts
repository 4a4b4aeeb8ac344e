import { createClient } from "@redis/client"
import { Cause, Clock, Duration, Effect, Fiber, RcMap, Runtime, Schedule, Scope } from "effect"
import type { RegistryUnavailable } from "../../domain/Errors.js"
import type { Sleepers } from "../registry/IdleWorkers.js"
import { kindSetKey, makeSleepers } from "../registry/IdleWorkers.js"
import * as Loops from "../registry/Loops.js"
import { redact } from "./Connection.js"

/**
 * How long one blocking wait lasts before it is made again, after a look for tasks left waiting with no marker (one
 * taken by a process that has stopped answering: paused, starved, partitioned). Idle, a kind set costs Redis two
 * commands per this long. A wait that has not answered this long plus `OVERDUE` later is on a connection that died
 * without a word (no reset ever came), which is then made again.
 */
const BLOCK = Duration.seconds(5)
const OVERDUE = Duration.seconds(10)

/** What a client connection of this module calls itself (`CLIENT LIST`), so that an operator can tell it apart. */
export const CLIENT_NAME = "storyflow-wake"

/**
 * How a check that failed, or a wait made while the connection is down, is made again (quietly: the connection says
 * it is down itself): quickly at first, then every 2 seconds.
 */
const again = Schedule.exponential("50 millis").pipe(Schedule.union(Schedule.spaced("2 seconds")))

/** The back-off of a blocking wait that failed: from 50 ms, doubling, at most 2 seconds apart (as `again`). */
const WAIT_RETRY = { initial: "50 millis", cap: "2 seconds" } as const

/**
 * Wake-ups on Redis, for the idle workers of this process. A task that starts waiting (submitted, handed back,
 * taken back) sets its kind's marker `P w:{kind}` in the script that queues it, and a claim that leaves tasks of a
 * kind sets it again; the marker is a sorted set of one member, so it stays one key however many tasks wait. Per kind
 * set, this process holds one connection that waits on its kinds' markers (`BZPOPMIN`) while one of its workers is
 * idle, and wakes one idle worker per marker it takes: idle workers cost Redis two commands per `BLOCK`, whatever
 * their number. A marker that finds no one idle here (they were stopped) is handed back; one taken by a connection
 * that was lost before its answer came is made again by `rearm` (the registry's own check, one script per kind set)
 * once the connection is back; one taken by a process that stopped answering is made good by another's look when its
 * wait times out.
 */
export const make = (options: {
  readonly url: string
  readonly prefix: string
  /** Sets the marker of every kind given that has tasks waiting. */
  readonly rearm: (kinds: ReadonlyArray<string>) => Effect.Effect<void, RegistryUnavailable>
}) =>
  Effect.gen(function* () {
    const live = Clock.make()
    const runtime = yield* Effect.runtime<never>()
    const where = redact(options.url)

    const kindSet = (key: string) =>
      Effect.gen(function* () {
        const sleepers = makeSleepers(key.split(","))
        const keys = sleepers.kinds.map((kind) => `${options.prefix}w:${kind}`)
        const queues = sleepers.kinds.map((kind) => `${options.prefix}q:${kind}`)
        const scope = yield* Effect.scope
        const client = createClient({
          url: options.url,
          name: CLIENT_NAME,
          // A wait made while the connection is down fails at once, and is made again a moment later: a wait queued
          // meanwhile would be sent when the connection is back, and the marker it took lost with its abandoned answer.
          disableOfflineQueue: true,
          socket: { connectTimeout: 2_000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000) }
        })
        // Markers taken by a wait whose answer was lost (the connection dropped) are made again, each time the
        // connection is back; once the registry's check has run, the next wait takes them.
        const rearm = options.rearm(sleepers.kinds).pipe(
          Effect.retry({ schedule: again, while: (e) => e._tag === "RegistryUnavailable" }),
          Effect.catchAllCause((cause) => Effect.logWarning("Could not check for tasks missed by idle workers", cause)),
          Effect.withClock(live)
        )
        let down = false
        let connected = false
        client.on("error", (error: unknown) => {
          if (down) return
          down = true
          const reason = error instanceof Error ? error.message : String(error)
          Runtime.runFork(runtime)(
            Effect.logWarning(`Cannot reach Redis at ${where} (REDIS_URL) for wake-ups: ${reason}; retrying`)
          )
        })
        client.on("ready", () => {
          if (down) Runtime.runFork(runtime)(Effect.logInfo(`Reached Redis at ${where} for wake-ups`))
          down = false
          if (connected) Runtime.runFork(runtime)(Effect.forkIn(rearm, scope))
          connected = true
        })
        client.connect().catch(() => undefined)

        // A wait made while the connection is down (or not up yet) fails at once, and is made again quietly: the
        // connection says it is down itself, once. A wait Redis refuses (an error reply: NOPERM, WRONGTYPE) would
        // leave this process's idle workers asleep whatever is submitted: it is tried again, and its streak logged
        // (once, then a line a minute), naming the reply.
        const waits = yield* Loops.make(`Waiting for wake-ups (${sleepers.kinds.join(", ")})`, WAIT_RETRY)
        const wait = Effect.tryPromise({
          try: () => client.bzPopMin(keys, Duration.toSeconds(BLOCK)),
          catch: (error) => error
        }).pipe(
          Effect.timeout(Duration.sum(BLOCK, OVERDUE)),
          Effect.tapError((error) =>
            // A connection that has gone quiet (a wait not answered) is made again (which `ready` follows with a
            // check); an error reply leaves it be.
            Cause.isTimeoutException(error) && client.isReady
              ? Effect.sync(() => client.destroy()).pipe(Effect.zipRight(reconnect))
              : Effect.void
          )
        )
        const reconnect = Effect.sync(() => {
          if (!client.isOpen) client.connect().catch(() => undefined)
        })
        const step = Effect.gen(function* () {
          yield* sleepers.someoneAsleep
          const popped = yield* waits.retrying(Effect.retry(wait, { schedule: again, while: () => !client.isReady }))
          if (popped === null) {
            // Nothing for a while. A marker goes to the process that has waited longest, which may since have stopped
            // answering (paused, starved): if tasks wait all the same, one worker here looks.
            const waiting = yield* Effect.tryPromise(() => client.exists(queues)).pipe(Effect.orElseSucceed(() => 0))
            if (waiting > 0) sleepers.wakeOne()
            return
          }
          if (sleepers.wakeOne()) return
          // No one here is idle any more: another process may be.
          yield* Effect.tryPromise(() => client.zAdd(popped.key, { score: 0, value: "w" })).pipe(Effect.ignore)
        })
        const loop = yield* step.pipe(Effect.forever, Effect.withClock(live), Effect.forkScoped)

        yield* Effect.addFinalizer(() =>
          Effect.gen(function* () {
            yield* Fiber.interrupt(loop)
            if (client.isOpen) client.destroy()
            // A marker taken by a wait cut off here is made again, for another process's workers.
            yield* options
              .rearm(sleepers.kinds)
              .pipe(
                Effect.timeoutTo({ duration: "1 second", onSuccess: () => undefined, onTimeout: () => undefined }),
                Effect.ignore,
                Effect.withClock(live)
              )
          })
        )
        return sleepers
      })

    const sets = yield* RcMap.make({ lookup: kindSet })

    /** The wait of one worker of `kinds`, for as long as the scope lasts. */
    const subscribe = (kinds: ReadonlyArray<string>): Effect.Effect<Effect.Effect<void>, never, Scope.Scope> =>
      Effect.map(RcMap.get(sets, kindSetKey(kinds)), (sleepers: Sleepers) => sleepers.sleep)

    return { subscribe }
  })
