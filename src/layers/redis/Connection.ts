import type { CommandParser } from "@redis/client"
import { createClient, defineScript, ErrorReply } from "@redis/client"
import { Clock, Context, Duration, Effect, Exit, Runtime, Schedule } from "effect"
import { RegistryUnavailable } from "../../domain/Errors.js"
import * as RedisConfig from "../../services/RedisConfig.js"
import * as AudioScripts from "../audio/AudioScripts.js"
import * as Loops from "../registry/Loops.js"
import * as Scripts from "./Scripts.js"

/** How long one command may take before the store counts as unreachable (measured on the real clock). */
const COMMAND_TIMEOUT = Duration.seconds(5)

/** How long start-up waits for a first connection before going on without one (requests get 503 meanwhile). */
const FIRST_CONNECTION = Duration.seconds(2)

/** Each atomic step as a script: the prefix is its one key, then its arguments. Called by SHA, loaded on NOSCRIPT. */
const script = (SCRIPT: string) =>
  defineScript({
    SCRIPT,
    NUMBER_OF_KEYS: 1,
    parseCommand: (parser: CommandParser, prefix: string, args: ReadonlyArray<string>) => {
      parser.pushKey(prefix)
      parser.push(...args)
    },
    transformReply: (reply: unknown): unknown => reply
  })

const scripts = {
  tasksSubmit: script(Scripts.submit),
  tasksClaim: script(Scripts.claim),
  tasksReport: script(Scripts.report),
  tasksFinish: script(Scripts.finish),
  tasksPolicy: script(Scripts.policy),
  tasksCancel: script(Scripts.cancel),
  tasksRead: script(Scripts.read),
  tasksReap: script(Scripts.reap),
  tasksRenew: script(Scripts.renew),
  tasksSweep: script(Scripts.sweep),
  tasksWake: script(Scripts.wake),
  tasksList: script(Scripts.list),
  tasksStats: script(Scripts.stats),
  audioBudget: script(AudioScripts.budget),
  audioReserve: script(AudioScripts.reserve),
  audioCommit: script(AudioScripts.commit),
  audioCancel: script(AudioScripts.cancel),
  audioPick: script(AudioScripts.pick),
  audioTake: script(AudioScripts.take),
  audioRelease: script(AudioScripts.release),
  audioReconcile: script(AudioScripts.reconcile),
  audioUsage: script(AudioScripts.usage),
  audioHoldings: script(AudioScripts.holdings)
}

const connect = (url: string) =>
  createClient({
    url,
    scripts,
    // A command while disconnected fails at once (503) rather than waiting in a queue that a caller cannot see.
    disableOfflineQueue: true,
    // The client's own per-command timeout (a timer for each command) is off: one watchdog times out every command.
    commandOptions: { timeout: 0 },
    socket: { connectTimeout: 2_000, reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 2_000) }
  })

export type Client = ReturnType<typeof connect>

/**
 * The registry's command connection and key prefix, for what is kept beside the registry (the audio ledger): one
 * connection per process, provided by the Redis registry's layers.
 */
export class RedisConnection extends Context.Tag("storyflow/RedisConnection")<
  RedisConnection,
  {
    readonly prefix: string
    readonly call: <A>(command: (c: Client) => Promise<A>) => Effect.Effect<A, RegistryUnavailable>
  }
>() {}

/** The URL without its password, for messages. */
export const redact = RedisConfig.redact

/** Errors with which Redis says "not now" rather than "this command is wrong". */
const TRANSIENT = ["LOADING", "BUSY", "MASTERDOWN", "READONLY", "OOM", "CLUSTERDOWN", "TRYAGAIN", "NOREPLICAS"]

/** A message from one of the registry's channels, or word that the subscription was re-established. */
export type Inbound =
  { readonly _tag: "Message"; readonly channel: string; readonly message: string } | { readonly _tag: "Resync" }

/**
 * A connection for commands and one for the registry's channels, in the scope. Start-up does not wait for Redis: it
 * tries for a moment, then goes on, logging that Redis cannot be reached (naming `REDIS_URL`), and both clients keep
 * reconnecting by themselves; meanwhile every command fails with `RegistryUnavailable`. What arrives on the channels
 * is given to `hear` as it arrives, synchronously: most notices concern no one in this process, and are best dropped
 * before any fiber runs.
 */
export const make = (url: string, channels: ReadonlyArray<string>, hear: (inbound: Inbound) => void) =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<never>()
    const where = redact(url)
    const live = Clock.make()
    const client = connect(url)
    const subscriber = client.duplicate({ disableOfflineQueue: false })

    // Said once per outage, and once when it ends, not on every retry.
    const watchHealth = (c: typeof client | typeof subscriber, role: string) => {
      let down = false
      let connectedBefore = false
      c.on("error", (error: unknown) => {
        if (down) return
        down = true
        const reason = error instanceof Error ? error.message : String(error)
        Runtime.runFork(runtime)(
          Effect.logError(
            `Cannot reach Redis at ${where} (REDIS_URL) for ${role}: ${reason}; retrying until it answers`
          )
        )
      })
      c.on("ready", () => {
        if (down) Runtime.runFork(runtime)(Effect.logInfo(`Reached Redis at ${where} for ${role}`))
        // Messages published while the subscription was down are lost: whoever relies on them reads again.
        if (connectedBefore && c === subscriber) hear({ _tag: "Resync" })
        down = false
        connectedBefore = true
      })
    }
    watchHealth(client, "commands")
    watchHealth(subscriber, "change notices")

    const connecting = Promise.all([client.connect(), subscriber.connect()]).catch(() => undefined)
    yield* Effect.promise(() => connecting).pipe(
      Effect.timeoutTo({ duration: FIRST_CONNECTION, onSuccess: () => undefined, onTimeout: () => undefined }),
      Effect.withClock(live)
    )
    // A subscribe that fails (an error reply such as NOPERM) is tried again with the loops' back-off: a process that
    // does not hear the channels would miss every cancel. It fails with the client's own error, so that the loop's
    // Warning names it (an `UnknownException` would print as "An unknown error occurred"). Once it succeeds after a
    // failure, whoever relies on the notices reads again, as after a reconnect. Its tries are at most 5 s apart: a
    // process deaf to cancels is worse than a few refused commands.
    const loop = yield* Loops.make("Subscribing to change notices", { cap: "5 seconds" })
    let deaf = false
    yield* loop
      .retrying(
        Effect.tryPromise({
          try: () =>
            subscriber.subscribe([...channels], (message: string, channel: string) =>
              hear({ _tag: "Message", channel, message })
            ),
          catch: (error) => error
        }).pipe(
          Effect.tapError(() => Effect.sync(() => (deaf = true))),
          Effect.tap(() => Effect.sync(() => deaf && hear({ _tag: "Resync" })))
        )
      )
      .pipe(Effect.withClock(live), Effect.forkScoped)

    // `close` waits for the answers to commands already sent, which a stopped or paused Redis never gives: the wait
    // is cut off after a second, then the sockets are destroyed. A finalizer runs uninterruptibly, and so would the
    // wait raced against the timeout (a race's loser is interrupted, and waited for): it is made interruptible, or
    // the timeout would wait for Redis too.
    yield* Effect.addFinalizer(() =>
      Effect.interruptible(Effect.promise(() => Promise.allSettled([client.close(), subscriber.close()]))).pipe(
        Effect.timeoutTo({ duration: "1 second", onSuccess: () => undefined, onTimeout: () => undefined }),
        Effect.zipRight(
          Effect.sync(() => {
            for (const c of [client, subscriber]) if (c.isOpen) c.destroy()
          })
        ),
        Effect.withClock(live)
      )
    )

    const unavailable = (reason: string) =>
      new RegistryUnavailable({ message: `The task store (Redis at ${where}, REDIS_URL) cannot be reached: ${reason}` })

    const failure = (error: unknown): Exit.Exit<never, RegistryUnavailable> =>
      error instanceof ErrorReply && !TRANSIENT.some((code) => error.message.startsWith(code))
        ? Exit.die(error)
        : Exit.fail(unavailable(error instanceof Error ? error.message : String(error)))

    // Commands waiting for an answer, each with when it was sent and how to give up on it. One watchdog fiber gives
    // up on those that take too long, rather than a timer and a fiber for every command. A network timeout is real
    // time (the live clock), not the registry's time: tests move their clock on by hours.
    const waiting = new Set<{
      readonly sent: number
      readonly resume: (exit: Exit.Exit<never, RegistryUnavailable>) => void
    }>()
    const timeoutMs = Duration.toMillis(COMMAND_TIMEOUT)
    yield* Effect.sync(() => {
      const now = live.unsafeCurrentTimeMillis()
      for (const entry of waiting) {
        if (now - entry.sent < timeoutMs) continue
        waiting.delete(entry)
        entry.resume(Exit.fail(unavailable(`no answer within ${timeoutMs / 1000} seconds`)))
      }
    }).pipe(Effect.repeat(Schedule.spaced("1 second")), Effect.withClock(live), Effect.forkScoped)

    /**
     * One command. A Redis that cannot be reached, that answers "not now", or that takes too long is
     * `RegistryUnavailable`; any other error Redis answers is a defect of this code.
     */
    const call = <A>(command: (c: Client) => Promise<A>): Effect.Effect<A, RegistryUnavailable> =>
      Effect.async<A, RegistryUnavailable>((resume) => {
        const entry = { sent: live.unsafeCurrentTimeMillis(), resume }
        waiting.add(entry)
        const settle = (exit: Exit.Exit<A, RegistryUnavailable>) => {
          if (waiting.delete(entry)) resume(exit)
        }
        command(client).then(
          (value) => settle(Exit.succeed(value)),
          (error) => settle(failure(error))
        )
        // Given up on (the caller was interrupted): the answer, when it comes, is dropped.
        return Effect.sync(() => waiting.delete(entry))
      })

    return {
      call,
      /** Commands sent and not yet answered (for tests that wait for the store to settle). */
      inFlight: Effect.sync(() => waiting.size)
    }
  })
