import type { ConfigError } from "effect"
import { Clock, Context, Duration, Effect, Either, Layer, Option, Queue, Stream } from "effect"
import type { RegistryUnavailable } from "../../domain/Errors.js"
import {
  IdempotencyKeyReused,
  RegistryBusy,
  RegistryFull,
  TaskAlreadyFinished,
  TaskTooLarge
} from "../../domain/Errors.js"
import type { ProgressReport, RunOutcome } from "../../domain/Outcome.js"
import { INTERRUPTED } from "../../domain/Outcome.js"
import { Tombstone } from "../../domain/RegistryState.js"
import * as Task from "../../domain/Task.js"
import { TaskId as TaskIdSchema } from "../../domain/TaskId.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { TaskKind } from "../../domain/TaskKind.js"
import { RedisConfig } from "../../services/RedisConfig.js"
import * as RedisConfigLayers from "../../services/RedisConfig.js"
import { RegistryConfig } from "../../services/RegistryConfig.js"
import * as RegistryConfigLayers from "../../services/RegistryConfig.js"
import { TaskIds } from "../../services/TaskIds.js"
import { ClaimLost, TaskQueue } from "../../services/TaskQueue.js"
import type { ListFilter, RegistryEvent, SubmitOptions } from "../../services/TaskRegistry.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import * as Connection from "./Connection.js"
import { EVICTION_LIMIT } from "./Scripts.js"
import * as Stored from "./Stored.js"
import * as WakeUps from "./WakeUps.js"
import type { NotHeld } from "../registry/RegistryCommon.js"
import { fingerprintOf, idempotencyKeyOf, notHeld, pendingTask } from "../registry/RegistryCommon.js"
import * as EvictionLog from "../registry/EvictionLog.js"
import { firstStored } from "../../domain/IdempotencyKey.js"
import * as Loops from "../registry/Loops.js"
import * as Sweeper from "../registry/Sweeper.js"
import * as TaskIdsHmac from "../ids/TaskIdsHmac.js"
import * as EventLog from "../registry/EventLog.js"
import * as Subscribers from "../registry/Subscribers.js"
import * as WatchChannels from "../registry/WatchChannels.js"

/** Entries of the log read per command when a reader resumes. */
const LOG_PAGE = 1000

const MISSED: RegistryEvent = { _tag: "Missed" }

/** Expired claims taken back per reap; a reap that finds more runs again at once. */
const REAP_BATCH = 100

/**
 * Leases are renewed, and reaped, every sixth of `TASK_LEASE`, and a lease is taken back a sixth after it ran out:
 * so a Redis that stalls for less than the lease (every command waits, renewals and reaps alike) takes back no
 * claim, and a claim whose process died is taken back within the lease plus a third.
 */
const LEASE_PARTS = 6

/** Why a task whose worker stopped renewing its lease, and had no attempts left, ends FAILED. */
export const WORKER_LOST = "Worker lost: the process running this task stopped renewing its claim"

/** The scripts, by the name of their file in ./lua. */
const SCRIPTS = {
  submit: "tasksSubmit",
  claim: "tasksClaim",
  report: "tasksReport",
  finish: "tasksFinish",
  cancel: "tasksCancel",
  read: "tasksRead",
  list: "tasksList",
  reap: "tasksReap",
  renew: "tasksRenew",
  sweep: "tasksSweep",
  wake: "tasksWake"
} as const
type ScriptName = keyof typeof SCRIPTS

/** The stored policy's fields, in the order policy.lua takes and answers them, with the variable each comes from. */
const POLICY = [
  ["thresholdMs", "TASK_CLEANUP_THRESHOLD", (ms: number) => `${ms / 1000} s`],
  ["maxRetained", "TASK_MAX_RETAINED", String],
  ["tombstones", "TASK_TOMBSTONES", String],
  ["maxPending", "TASK_MAX_PENDING", String],
  ["maxWork", "TASK_MAX_PENDING_WORK", String]
] as const

/**
 * The Redis store: every record in Redis under one key prefix, every change one Lua script that changes only what
 * its step changes, at the time that Effect's `Clock` gives; every change published as a delta, so that watchers
 * and workers in every process hear of it. Workers hold claims as leases on Redis's own clock, renewed by this
 * process; every process reaps leases that ran out. The eviction and admission policy is stored with the registry
 * and applied by every process. Several processes share one registry with the same rules as one process in memory.
 */
export const make = Effect.gen(function* () {
  const config = yield* RegistryConfig
  const redis = yield* RedisConfig
  const ids = yield* TaskIds
  const P = redis.prefix
  const leaseMs = Duration.toMillis(redis.lease)
  const leasePart = Math.max(1, Math.floor(leaseMs / LEASE_PARTS))
  const channel = { events: `${P}events`, lost: `${P}lost` }
  const live = Clock.make()
  const domainClock = yield* Effect.clock
  const evictions = yield* EvictionLog.make

  const channels = yield* WatchChannels.make
  // Readers of `events`, each with a bounded buffer: with none, and no watcher of the task, a change notice is not
  // even decoded.
  const events = Subscribers.make<RegistryEvent>(EventLog.EVENTS_BUFFER)
  const eventStream = Stream.unwrapScoped(events.subscribe(MISSED))
  // The claims this process's workers hold, by token, and what stops each one's handler.
  const held = new Map<string, Task.Processing>()
  const stops = new Map<string, Effect.Effect<void>>()
  // The latest state heard of each active task that someone here follows (a reader of `events`, or a watcher), to
  // which the next notice's delta applies.
  const mirror = new Map<string, Task.Task>()

  // Notices that concern this process, for `hear` to handle in order. Every process hears of every change in the
  // registry; most concern no one here, and are dropped as they arrive, before any fiber runs.
  const notices = yield* Queue.unbounded<Connection.Inbound>()
  const sortNotice = (inbound: Connection.Inbound) => {
    if (inbound._tag === "Message") {
      const { channel: name, message } = inbound
      if (name === channel.lost) {
        if (!stops.has(message)) return
      } else {
        const type = message[0]
        if (type === "E") {
          if (events.size() === 0) return
        } else if (events.size() === 0) {
          const id = idOf(message)
          if (!channels.unsafeIsWatched(id)) {
            mirror.delete(id)
            return
          }
        }
      }
    }
    Queue.unsafeOffer(notices, inbound)
  }
  const connection = yield* Connection.make(redis.url, Object.values(channel), sortNotice)
  const { call } = connection

  // Names this process in the notices of the scripts it runs, so that it can tell its own changes from others'.
  const origin = crypto.randomUUID().slice(0, 8)

  const ours = [
    Duration.toMillis(config.cleanupThreshold),
    config.maxRetained,
    config.tombstones,
    config.maxPending,
    config.maxPendingWork
  ]
  let warnedAbout = ""
  /** Stores this process's policy if the registry has none, and says so once when the registry's differs. */
  const storePolicy = call((c) => c.tasksPolicy(P, ours.map(String))).pipe(
    Effect.flatMap((stored) => {
      const theirs = Array.isArray(stored) ? stored.map(Number) : []
      const differ = POLICY.flatMap(([, variable, show], i) =>
        theirs[i] === ours[i] ? [] : [`${variable} ${show(theirs[i]!)} (this process: ${show(ours[i]!)})`]
      )
      const key = differ.join(", ")
      if (key === "" || key === warnedAbout) return Effect.void
      warnedAbout = key
      return Effect.logWarning(
        `The registry at ${Connection.redact(redis.url)} under ${P} keeps its own policy, which every process ` +
          `applies: ${key}. To change it, see "Scale out" in the README (${P}policy)`
      )
    })
  )
  yield* storePolicy.pipe(Effect.catchTag("RegistryUnavailable", () => Effect.void))

  /**
   * Runs a script with the time and this process's origin first. A registry that lost its policy (its Redis lost
   * its data) gets this process's, and the script runs again. A script that errors is a defect, named.
   */
  const run = (name: ScriptName, args: ReadonlyArray<string>): Effect.Effect<unknown, RegistryUnavailable> => {
    const once = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      call((c) => c[SCRIPTS[name]](P, [String(now), origin, ...args]))
    )
    return once.pipe(
      Effect.flatMap((reply) =>
        Array.isArray(reply) && reply[0] === "nopolicy" ? Effect.zipRight(storePolicy, once) : Effect.succeed(reply)
      ),
      Effect.catchAllDefect((defect) =>
        Effect.die(
          new Error(`The Redis script ${name}.lua failed: ${defect instanceof Error ? defect.message : defect}`, {
            cause: defect
          })
        )
      )
    )
  }

  /** A reply that is not what `name` answers is a defect of the store. */
  const unexpected = (name: ScriptName | "stats", reply: unknown) =>
    Effect.dieMessage(`The Redis script ${name}.lua answered ${JSON.stringify(reply)?.slice(0, 200)}`)

  /** Runs a script whose answer starts with the count it evicted. */
  const runCounting = (name: ScriptName, args: ReadonlyArray<string>) =>
    Effect.flatMap(run(name, args), (reply) =>
      Array.isArray(reply) && typeof reply[0] === "number"
        ? Effect.succeed(reply as [number, ...Array<unknown>])
        : unexpected(name, reply)
    )

  /** Runs a script whose answer starts with the count it evicted in passing, and counts that in the log. */
  const runEvicting = (name: ScriptName, args: ReadonlyArray<string>) =>
    Effect.tap(runCounting(name, args), ([evicted]) => evictions.evicted(evicted))

  /**
   * Evicts what is due at `now`, a bounded batch per script run, until a run finds less than a full batch; says the
   * total in one line (what the batches before a run that failed evicted is said all the same).
   */
  const sweepFrom = (before: number): Effect.Effect<number, RegistryUnavailable> =>
    runCounting("sweep", []).pipe(
      Effect.onError(() => evictions.swept(before)),
      Effect.flatMap(([evicted]) =>
        evicted < EVICTION_LIMIT
          ? Effect.as(evictions.swept(before + evicted), before + evicted)
          : sweepFrom(before + evicted)
      )
    )
  const sweepOnce = sweepFrom(0)

  const submit = <Name extends string, A, I>(kind: TaskKind<Name, A, I>, payload: A, options?: SubmitOptions) =>
    Effect.gen(function* () {
      const key = yield* idempotencyKeyOf(options)
      // The registry's stored policy says how much work is too much: the script refuses it.
      const task = yield* pendingTask(ids, Number.MAX_SAFE_INTEGER, kind, payload)
      const { total, weight } = task
      const json = JSON.stringify(task.payload) ?? "null"
      const fingerprint = key === undefined ? "" : fingerprintOf(task.kind, task.payload)
      const answer = yield* runEvicting("submit", [
        task.id,
        task.kind,
        String(total),
        String(weight),
        key ?? "",
        fingerprint,
        json
      ])
      switch (answer[1]) {
        case "ok":
          return task
        case "full":
          return yield* new RegistryFull({ maxPending: Number(answer[2]) })
        case "busy":
          return yield* new RegistryBusy({
            weight,
            pendingWeight: Number(answer[2]),
            maxPendingWeight: Number(answer[3])
          })
        case "large":
          return yield* new TaskTooLarge({ weight, maxPendingWeight: Number(answer[2]) })
        case "same": {
          // The task the key was first used for, as it was first stored.
          const [stored, id, first, firstWeight, createdAt] = String(answer[2]).split(" ")
          const entry = {
            taskId: TaskIdSchema.make(id!, { disableValidation: true }),
            fingerprint: stored!,
            total: Number(first),
            weight: Number(firstWeight),
            createdAt: Number(createdAt)
          }
          return firstStored(entry, task.kind, task.payload)
        }
        case "reused":
          return yield* new IdempotencyKeyReused({
            idempotencyKey: key!,
            taskId: TaskIdSchema.make(String(answer[2]), { disableValidation: true })
          })
        default:
          return yield* unexpected("submit", answer)
      }
    })

  const get = (id: TaskId): Effect.Effect<Task.Task, NotHeld | RegistryUnavailable> =>
    Effect.flatMap(runEvicting("read", [id]), (answer): Effect.Effect<Task.Task, NotHeld> => {
      switch (answer[1]) {
        case "record":
          return Effect.succeed(Stored.fromJson(answer[2]))
        case "gone":
          return Effect.fail(notHeld(ids, Option.some(Stored.tombstoneFromJson(id, answer[2])), id))
        case "unknown":
          return Effect.fail(notHeld(ids, Option.none(), id))
        default:
          return unexpected("read", answer)
      }
    })

  const list = (filter: ListFilter) =>
    Effect.map(
      runEvicting("list", [filter.status ?? "", filter.limit === undefined ? "" : String(filter.limit)]),
      ([, ...records]) => records.map(Stored.fromJson)
    )

  const cancel = (id: TaskId) =>
    Effect.flatMap(
      runEvicting("cancel", [id, JSON.stringify("Cancelled by request")]),
      (answer): Effect.Effect<Task.Task, NotHeld | TaskAlreadyFinished> => {
        switch (answer[1]) {
          case "ok":
            return Effect.succeed(Stored.fromJson(answer[2]))
          case "finished":
            return Effect.fail(new TaskAlreadyFinished({ taskId: id, status: answer[2] as Task.TaskStatus }))
          case "gone":
            return Effect.fail(notHeld(ids, Option.some(Stored.tombstoneFromJson(id, answer[2])), id))
          case "unknown":
            return Effect.fail(notHeld(ids, Option.none(), id))
          default:
            return unexpected("cancel", answer)
        }
      }
    )

  const watch = (id: TaskId) => channels.watch(id, get)

  const stats = call((c) => c.tasksStats(P, [])).pipe(
    Effect.flatMap((reply) => {
      if (!Array.isArray(reply) || reply.length !== 5) return unexpected("stats", reply)
      const [pending, processing, finished, tombstones, oldest] = reply as [number, number, number, number, unknown]
      return Effect.succeed({
        pending,
        processing,
        finished,
        tombstones,
        oldestFinishedAt: typeof oldest === "string" ? Option.some(Number(oldest)) : Option.none()
      })
    })
  )

  const claim = (kinds: ReadonlyArray<string>, token: string) =>
    Effect.gen(function* () {
      const answer = yield* run("claim", [token, String(leaseMs), ...kinds])
      if (answer === null) return Option.none()
      const task = Stored.fromJson(answer)
      if (task._tag !== "PROCESSING") return yield* unexpected("claim", answer)
      held.set(token, task)
      return Option.some(task)
    })

  const lost = (claimed: Task.Processing) => {
    held.delete(claimed.claim)
    return new ClaimLost({ taskId: claimed.id })
  }

  const report = (claimed: Task.Processing, n: number, progress: ProgressReport) =>
    Effect.gen(function* () {
      const item =
        progress._tag === "SegmentDone"
          ? (({ audioUrl, durationSeconds, segmentId }) => ({ segmentId, audioUrl, durationSeconds }))(progress.segment)
          : (({ message, segmentId }) => ({ segmentId, message }))(progress.error)
      const answer = yield* run("report", [
        claimed.id,
        claimed.claim,
        String(n),
        progress._tag === "SegmentDone" ? "D" : "X",
        JSON.stringify(item)
      ])
      switch (answer) {
        case "ok":
        case "again":
          return
        case "lost":
          return yield* lost(claimed)
        case "over":
          return yield* Effect.logWarning(
            `Ignored a progress report: cannot record a unit of a task whose ${claimed.total} unit(s) are all recorded`
          ).pipe(Effect.annotateLogs("taskId", claimed.id))
        default:
          return yield* unexpected("report", answer)
      }
    })

  // A worker that stops because its process is shutting down hands the task back for another process to run.
  const finish = (claimed: Task.Processing, outcome: RunOutcome) =>
    Effect.gen(function* () {
      const [step, text] =
        outcome._tag === "Succeeded"
          ? ["ok", ""]
          : outcome._tag === "Failed"
            ? ["fail", JSON.stringify(outcome.message)]
            : outcome._tag === "Interrupted"
              ? ["cancel", JSON.stringify(INTERRUPTED)]
              : ["release", ""]
      const answer = yield* runEvicting("finish", [claimed.id, claimed.claim, step, text])
      held.delete(claimed.claim)
      if (answer[1] === "lost") return yield* lost(claimed)
      if (answer[1] !== "ok") return yield* unexpected("finish", answer)
    })

  const holdsNow = (claimed: Task.Processing) =>
    call((c) => c.hGet(`${P}tok`, claimed.claim)).pipe(
      Effect.map((id) => id === claimed.id),
      // A store that cannot be asked cannot say the claim is lost: the next report or renewal will.
      Effect.orElseSucceed(() => true)
    )

  const onLost = (claimed: Task.Processing, stop: Effect.Effect<void>) =>
    Effect.gen(function* () {
      // Registered before the read, so that a cancel is either seen by the read or heard on the `lost` channel.
      stops.set(claimed.claim, stop)
      if (!(yield* holdsNow(claimed))) yield* stop
      // The claim stays held (and renewed) until the worker has recorded how the run ended.
      return Effect.sync(() => stops.delete(claimed.claim))
    })

  // Idle workers wait on Redis through one blocking connection per kind set, not a poll each.
  const wakeUps = yield* WakeUps.make({
    url: redis.url,
    prefix: P,
    rearm: (kinds) => Effect.asVoid(run("wake", kinds))
  })
  const subscribeWork = wakeUps.subscribe

  /** Follows a record's new state while active, and tells its watchers of it. */
  const follow = (task: Task.Task) => {
    if (Task.isFinished(task)) mirror.delete(task.id)
    else mirror.set(task.id, task)
    channels.unsafePublish(task)
  }

  /** Publishes a record's new state, with the id of its notice in the log, to readers of `events` and to watchers. */
  const tell = (task: Task.Task, here: boolean, id: string) =>
    Effect.sync(() => {
      follow(task)
      events.publish({ _tag: "Changed", id, task, here })
    })

  /**
   * What a notice says, read with `known` (the latest state known of a task, to which a delta applies): an event,
   * a change whose record must be read (its delta applies to nothing known), or nothing new.
   */
  const decode = (
    message: string,
    id: string,
    known: (id: string) => Task.Task | undefined
  ):
    | RegistryEvent
    | { readonly _tag: "Read"; readonly taskId: TaskId; readonly version: number; readonly here: boolean }
    | undefined => {
    const { afterOrigin, here, type } = headOf(message)
    if (type === "E") {
      const eviction = Stored.decodeEviction(message.slice(afterOrigin))
      if (Either.isLeft(eviction)) return undefined
      const { cause, ...tombstone } = eviction.right
      return { _tag: "Evicted", id, tombstone: new Tombstone(tombstone), cause, here }
    }
    const afterId = message.indexOf(" ", afterOrigin) + 1
    const afterVersion = message.indexOf(" ", afterId) + 1
    const taskId = TaskIdSchema.make(message.slice(afterOrigin, afterId - 1), { disableValidation: true })
    const version = Number(message.slice(afterId, afterVersion - 1))
    const delta = message.slice(afterVersion)
    const base = known(taskId)
    // A notice older than what is known already (a record read again after a gap) says nothing new.
    if (base !== undefined && version <= base.version) return undefined
    const next =
      type === "S" || type === "F"
        ? Stored.fromJson(delta)
        : base === undefined
          ? undefined
          : Stored.applyDelta(base, type, version, delta)
    return next === undefined ? { _tag: "Read", taskId, version, here } : { _tag: "Changed", id, task: next, here }
  }

  /** A notice's type, whether this process sent it, its id in the log (when it says) and where its body starts. */
  const headOf = (message: string) => {
    const afterOrigin = message.indexOf(" ") + 1
    const head = message.slice(1, afterOrigin - 1)
    const slash = head.indexOf("/")
    return {
      type: message[0]!,
      here: (slash === -1 ? head : head.slice(0, slash)) === origin,
      logId: slash === -1 ? "" : head.slice(slash + 1),
      afterOrigin
    }
  }

  /** What the store says on its channels, in the order it said it. */
  const hear = (inbound: Connection.Inbound) =>
    Effect.gen(function* () {
      if (inbound._tag === "Resync") {
        // Notices published while the subscription was down are lost: claims held here are renewed at once, watchers
        // read their task again, readers of `events` are told that they missed changes (they resume from the log,
        // which lost nothing).
        mirror.clear()
        events.missAll()
        // A cancel or take-back whose notice was lost stops its run now, rather than at the next renewal.
        yield* renew.pipe(Effect.ignoreLogged)
        for (const id of yield* channels.watched) {
          yield* get(id).pipe(
            Effect.flatMap((task) => Effect.sync(() => follow(task))),
            Effect.ignore
          )
        }
        return
      }
      const { message } = inbound
      if (inbound.channel === channel.lost) {
        const stop = stops.get(message)
        return stop === undefined ? undefined : yield* stop
      }
      const decoded = decode(message, headOf(message).logId, (id) => mirror.get(id))
      if (decoded === undefined) {
        if (message[0] === "E") yield* Effect.logWarning(`Ignored a notice from Redis: ${message}`)
        return
      }
      switch (decoded._tag) {
        case "Evicted":
          mirror.delete(decoded.tombstone.id)
          return events.publish(decoded)
        case "Changed":
          return yield* tell(decoded.task, decoded.here, decoded.id)
        case "Read": {
          // A notice was missed (or this process started following the task midway): read the record.
          const read = yield* get(decoded.taskId).pipe(Effect.option)
          if (Option.isSome(read) && read.value.version >= decoded.version) {
            yield* tell(read.value, decoded.here, headOf(message).logId)
          }
          return
        }
        case "Missed":
          return
      }
    }).pipe(Effect.catchAllDefect((defect) => Effect.logError("Could not handle a notice from Redis", defect)))

  /**
   * The events after `lastId` in the log, decoded as `hear` decodes notices but from what the log says alone (a
   * delta about a task not seen yet reads its record); undefined when the log no longer holds `lastId` (or never
   * did). Each page is read from the last id it has, inclusive, so that a trim between pages is noticed too.
   */
  const logAfter = (lastId: string) =>
    Effect.gen(function* () {
      if (!isLogId(lastId)) return undefined
      const seen = new Map<string, Task.Task>()
      const held: Array<RegistryEvent> = []
      let from = lastId
      for (;;) {
        const page = (yield* call((c) => c.xRange(`${P}log`, from, "+", { COUNT: LOG_PAGE + 1 }))) ?? []
        if (page.length === 0 || page[0]!.id !== from) return undefined
        for (const entry of page.slice(1)) {
          const notice = String((entry.message as Record<string, unknown>)["n"])
          const decoded = decode(notice, entry.id, (id) => seen.get(id))
          if (decoded === undefined || decoded._tag === "Missed") continue
          if (decoded._tag === "Evicted") {
            seen.delete(decoded.tombstone.id)
            held.push(decoded)
            continue
          }
          const task =
            decoded._tag === "Changed"
              ? decoded.task
              : Option.getOrUndefined(
                  yield* get(decoded.taskId).pipe(
                    Effect.map(Option.some),
                    Effect.catchIf(
                      (e): e is NotHeld => e._tag !== "RegistryUnavailable",
                      () => Effect.succeedNone
                    )
                  )
                )
          if (task === undefined) continue
          seen.set(task.id, task)
          held.push({ _tag: "Changed", id: entry.id, task, here: decoded.here })
        }
        if (page.length < LOG_PAGE + 1) return held
        from = page.at(-1)!.id
      }
    })

  const eventsAfter = (lastEventId: string) =>
    Stream.unwrapScoped(
      Effect.gen(function* () {
        const live = yield* events.subscribe(MISSED)
        const held = yield* logAfter(lastEventId)
        return EventLog.resume(live, held, logIdAfter, lastEventId)
      })
    )

  // Renews this process's claims, and stops the handlers of those that are no longer current.
  const renew = Effect.gen(function* () {
    if (held.size === 0) return
    const pairs = Array.from(held, ([token, task]) => [task.id, token]).flat()
    const answer = yield* run("renew", [String(leaseMs), ...pairs])
    if (!Array.isArray(answer)) return yield* unexpected("renew", answer)
    for (const token of answer as Array<string>) {
      const stop = stops.get(token)
      if (stop !== undefined) yield* stop
    }
  })

  // Takes back the claims of workers that stopped renewing them, in whichever process they ran.
  const reap: Effect.Effect<void, RegistryUnavailable> = Effect.gen(function* () {
    const [, requeued, failed] = yield* runEvicting("reap", [
      String(leasePart),
      String(redis.maxAttempts),
      JSON.stringify(WORKER_LOST),
      String(REAP_BATCH)
    ])
    const taken = Number(requeued) + Number(failed)
    if (taken > 0) {
      yield* Effect.logWarning(
        `Took back ${taken} task(s) whose worker stopped renewing its claim: ` +
          `${requeued} back to PENDING, ${failed} FAILED after ${redis.maxAttempts} attempt(s)`
      )
    }
    if (taken === REAP_BATCH) yield* reap
  })

  yield* Queue.take(notices).pipe(Effect.flatMap(hear), Effect.forever, Effect.forkScoped)

  for (const [name, step] of [
    ["Renewing claims", renew],
    ["Reaping expired claims", reap]
  ] as const) {
    // Whatever goes wrong, the loop goes on, retried with the loops' back-off, but never waiting longer than its own
    // interval: a process whose renewals stopped would lose every claim it holds. The loop keeps real time (leases
    // are a network concern), its steps the registry's time.
    yield* Loops.every(name, Duration.millis(leasePart), Effect.withClock(step, domainClock), {
      cap: Duration.millis(leasePart)
    }).pipe(Effect.withClock(live), Effect.forkScoped)
  }

  return {
    registry: TaskRegistry.of({
      submit,
      get,
      list,
      cancel,
      watch,
      events: eventStream,
      eventsAfter,
      sweep: sweepOnce,
      stats
    }),
    queue: TaskQueue.of({ claim, report, finish, onLost, subscribeWork }),
    connection: Connection.RedisConnection.of({ prefix: P, call }),
    /** Commands in flight and notices not yet handled, so that a test can wait for the store to settle. */
    pending: Effect.zipWith(connection.inFlight, Queue.size(notices), (a, b) => a + Math.max(0, b))
  }
})

/** Whether `id` is an id of a stream entry, `{ms}-{n}`, that Redis takes. */
const isLogId = (id: string) => {
  const match = /^(\d{1,16})-(\d{1,16})$/.exec(id)
  return match !== null && Number.isSafeInteger(Number(match[1])) && Number.isSafeInteger(Number(match[2]))
}

/** Whether the log's entry `id` comes after `last`. */
const logIdAfter = (id: string, last: string) => {
  const [ms, n] = id.split("-").map(Number)
  const [lastMs, lastN] = last.split("-").map(Number)
  return ms! > lastMs! || (ms === lastMs && n! > lastN!)
}

/** The task a change notice (`{T}{origin}/{log id} {id} {version} {delta}`) is about. */
const idOf = (notice: string) => {
  const from = notice.indexOf(" ") + 1
  return TaskIdSchema.make(notice.slice(from, notice.indexOf(" ", from)), { disableValidation: true })
}

/** The Redis store alone, without the sweep fiber, given its configurations and where its ids come from. */
export const layerStore: Layer.Layer<
  TaskRegistry | TaskQueue | Connection.RedisConnection,
  never,
  RegistryConfig | RedisConfig | TaskIds
> = Layer.scopedContext(
  Effect.map(make, ({ connection, queue, registry }) =>
    Context.make(TaskRegistry, registry).pipe(
      Context.add(TaskQueue, queue),
      Context.add(Connection.RedisConnection, connection)
    )
  )
)

/**
 * The Redis registry with its sweep fiber, issuing ids with the `TaskIds` given. Processes that share a registry
 * must share its key too (`TASK_ID_SECRET`, or one `AUDIO_DIR`), so that each recognises the others' ids.
 */
export const layerWithTaskIds: Layer.Layer<
  TaskRegistry | TaskQueue | Connection.RedisConnection,
  never,
  RegistryConfig | RedisConfig | TaskIds
> = Sweeper.layer.pipe(Layer.provideMerge(layerStore))

/**
 * The Redis registry with its sweep fiber, configured from the `ConfigProvider` (environment variables): the
 * `TASK_*` settings, `REDIS_URL`, `TASK_REDIS_PREFIX`, `TASK_LEASE`, `TASK_MAX_ATTEMPTS`, and `TASK_ID_SECRET` as
 * the key of its ids (else a key made when it is built, which other processes do not share).
 */
export const layerConfig: Layer.Layer<
  TaskRegistry | TaskQueue | RegistryConfig | RedisConfig | Connection.RedisConnection,
  ConfigError.ConfigError
> = layerWithTaskIds.pipe(
  Layer.provide(TaskIdsHmac.layerConfig),
  Layer.provideMerge(RegistryConfigLayers.layerConfig),
  Layer.provideMerge(RedisConfigLayers.layerConfig)
)
