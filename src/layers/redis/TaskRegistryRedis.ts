import type { ConfigError } from "effect"
import {
  Clock,
  Context,
  Duration,
  Effect,
  Either,
  Layer,
  Option,
  PubSub,
  Queue,
  Schedule,
  Schema,
  Stream
} from "effect"
import type { RegistryUnavailable } from "../../domain/Errors.js"
import { RegistryBusy, RegistryFull, TaskAlreadyFinished } from "../../domain/Errors.js"
import type { ProgressReport, RunOutcome } from "../../domain/Outcome.js"
import { Tombstone } from "../../domain/RegistryState.js"
import { applyReport, settle } from "../../domain/Outcome.js"
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
import type { ListFilter, RegistryEvent } from "../../services/TaskRegistry.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import * as Connection from "./Connection.js"
import { EVICTION_LIMIT } from "./Scripts.js"
import * as Stored from "./Stored.js"
import type { NotHeld } from "../registry/RegistryCommon.js"
import { logEvicted, notHeld, pendingTask } from "../registry/RegistryCommon.js"
import * as Sweeper from "../registry/Sweeper.js"
import * as TaskIdsHmac from "../ids/TaskIdsHmac.js"
import * as WatchChannels from "../registry/WatchChannels.js"

/** Events a reader of `events` that has stopped reading may fall behind by before the oldest are dropped. */
const EVENTS_BUFFER = 4096

/**
 * How long an idle worker waits for a work notice before it looks for itself (notices can be lost in an outage), in
 * real time: a network concern, not the registry's time (a test that moves its clock on by a day would otherwise
 * make every idle worker look 43,200 times).
 */
const IDLE_POLL = Duration.seconds(2)

/** Expired claims taken back per reap; a reap that finds more runs again at once. */
const REAP_BATCH = 100

/** Why a task whose worker stopped renewing its lease, and had no attempts left, ends FAILED. */
export const WORKER_LOST = "Worker lost: the process running this task stopped renewing its claim"

const Evicted = Schema.Number
const reply = <A, I>(schema: Schema.Schema<A, I>) => {
  const decode = Schema.decodeUnknown(schema)
  return (u: unknown) => Effect.orDie(decode(u))
}
const SubmitReply = reply(
  Schema.Union(
    Schema.Tuple(Evicted, Schema.Literal("ok", "full")),
    Schema.Tuple(Evicted, Schema.Literal("busy"), Schema.Number)
  )
)
const PutReply = reply(Schema.Tuple(Evicted, Schema.Literal("ok", "lost", "stale")))
const CancelReply = reply(
  Schema.Union(
    Schema.Tuple(Evicted, Schema.Literal("ok", "gone"), Schema.String),
    Schema.Tuple(Evicted, Schema.Literal("finished"), Task.TaskStatus),
    Schema.Tuple(Evicted, Schema.Literal("unknown"))
  )
)
const ReadReply = reply(
  Schema.Union(
    Schema.Tuple(Evicted, Schema.Literal("record", "gone"), Schema.String),
    Schema.Tuple(Evicted, Schema.Literal("unknown"))
  )
)
const ReapReply = reply(Schema.Tuple(Evicted, Schema.Number, Schema.Number))
const ListReply = reply(Schema.Tuple([Evicted], Schema.String))
const CountsReply = reply(
  Schema.Tuple(Schema.Number, Schema.Number, Schema.Number, Schema.Number, Schema.NullOr(Schema.NumberFromString))
)
const Strings = reply(Schema.Array(Schema.String))
const SweepReply = reply(Schema.Tuple(Evicted))

/**
 * The Redis store: every record in Redis under one key prefix, every change one Lua script run at the time that
 * Effect's `Clock` gives, every change published so that watchers and workers in every process hear of it. Workers
 * hold claims as leases, renewed by this process every third of `TASK_LEASE`; every process reaps leases that ran
 * out. Several processes share one registry with the same rules as one process in memory.
 */
export const make = Effect.gen(function* () {
  const config = yield* RegistryConfig
  const redis = yield* RedisConfig
  const ids = yield* TaskIds
  const P = redis.prefix
  const thresholdMs = Duration.toMillis(config.cleanupThreshold)
  const leaseMs = Duration.toMillis(redis.lease)
  const channel = { events: `${P}events`, lost: `${P}lost` }

  const channels = yield* WatchChannels.make
  const events = yield* PubSub.sliding<RegistryEvent>(EVENTS_BUFFER)
  // Readers of `events` right now: with none, and no watcher of the task, a change notice is not even decoded.
  let readers = 0
  const eventStream = Stream.unwrapScoped(
    Effect.acquireRelease(
      Effect.sync(() => readers++),
      () => Effect.sync(() => readers--)
    ).pipe(Effect.as(Stream.fromPubSub(events)))
  )
  // "There may be work", for one idle worker at a time: a worker that claims a task passes the word on to the next,
  // so that a notice wakes as many workers as there are tasks (plus one that finds none), not every idle worker in
  // every process for every task.
  const work = yield* Queue.dropping<void>(1)
  // The claims this process's workers hold: the latest record each wrote, and what stops its handler.
  const held = new Map<string, Task.Processing>()
  const stops = new Map<string, Effect.Effect<void>>()

  // Notices that concern this process, for `hear` to handle in order. Every process hears of every change in the
  // registry; most concern no one here, and are dropped as they arrive, before any fiber runs.
  const notices = yield* Queue.unbounded<Connection.Inbound>()
  const sortNotice = (inbound: Connection.Inbound) => {
    if (inbound._tag === "Message") {
      const { channel: name, message } = inbound
      if (name === channel.lost && !stops.has(message)) return
      if (name === channel.events) {
        const change = isChange(message)
        // A task is waiting for a worker: wake one here.
        if (message[0] === "W") Queue.unsafeOffer(work, undefined)
        if (readers === 0 && !(change && channels.unsafeIsWatched(idOf(message)))) return
      }
    }
    Queue.unsafeOffer(notices, inbound)
  }
  const connection = yield* Connection.make(redis.url, Object.values(channel), sortNotice)
  const { call } = connection

  // Names this process in the notices of the scripts it runs, so that it can tell its own changes from others'.
  const origin = crypto.randomUUID().slice(0, 8)

  /** Every script's first arguments: the time, the eviction policy, and who runs it. */
  const policy = (now: number) => [
    String(now),
    String(thresholdMs),
    String(config.maxRetained),
    String(config.tombstones),
    origin
  ]

  const logged =
    <A extends ReadonlyArray<unknown>>(decode: (u: unknown) => Effect.Effect<A>) =>
    (u: unknown) =>
      Effect.tap(decode(u), (r) => (typeof r[0] === "number" ? logEvicted(r[0]) : Effect.void))

  /** Evicts what is due at `now`, a bounded batch per script run, until a run finds less than a full batch. */
  const sweepAt = (now: number): Effect.Effect<number, RegistryUnavailable> =>
    call((c) => c.tasksSweep(P, policy(now))).pipe(
      Effect.flatMap(logged(SweepReply)),
      Effect.flatMap(([evicted]) =>
        evicted < EVICTION_LIMIT ? Effect.succeed(evicted) : Effect.map(sweepAt(now), (more) => evicted + more)
      )
    )

  const submit = <Name extends string, A, I>(kind: TaskKind<Name, A, I>, payload: A) =>
    Effect.gen(function* () {
      const task = yield* pendingTask(ids, config.maxPendingWork, kind, payload)
      const { createdAt: now, weight } = task
      const answer = yield* call((c) =>
        c.tasksSubmit(P, [
          ...policy(now),
          String(config.maxPending),
          String(config.maxPendingWork),
          task.id,
          task.kind,
          String(weight),
          String(now),
          ...Stored.toActive(task)
        ])
      ).pipe(Effect.flatMap(logged(SubmitReply)))
      switch (answer[1]) {
        case "ok":
          return task
        case "full":
          return yield* new RegistryFull({ maxPending: config.maxPending })
        case "busy":
          return yield* new RegistryBusy({ weight, pendingWeight: answer[2], maxPendingWeight: config.maxPendingWork })
      }
    })

  const get = (id: TaskId): Effect.Effect<Task.Task, NotHeld | RegistryUnavailable> =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const answer = yield* call((c) => c.tasksRead(P, [...policy(now), id])).pipe(Effect.flatMap(logged(ReadReply)))
      switch (answer[1]) {
        case "record":
          return Stored.fromJson(answer[2])
        case "gone":
          return yield* Effect.fail(notHeld(ids, Option.some(Stored.tombstoneFromJson(id, answer[2])), id))
        case "unknown":
          return yield* Effect.fail(notHeld(ids, Option.none(), id))
      }
    })

  const list = (filter: ListFilter) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const [, ...records] = yield* call((c) =>
        c.tasksList(P, [...policy(now), filter.status ?? "", filter.limit === undefined ? "" : String(filter.limit)])
      ).pipe(Effect.flatMap(logged(ListReply)))
      return records.map(Stored.fromJson)
    })

  const cancel = (id: TaskId) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const answer = yield* call((c) =>
        c.tasksCancel(P, [...policy(now), id, JSON.stringify("Cancelled by request")])
      ).pipe(Effect.flatMap(logged(CancelReply)))
      switch (answer[1]) {
        case "ok":
          return Stored.fromJson(answer[2])
        case "finished":
          return yield* new TaskAlreadyFinished({ taskId: id, status: answer[2] })
        case "gone":
          return yield* Effect.fail(notHeld(ids, Option.some(Stored.tombstoneFromJson(id, answer[2])), id))
        case "unknown":
          return yield* Effect.fail(notHeld(ids, Option.none(), id))
      }
    })

  const watch = (id: TaskId) => channels.watch(id, get)

  const sweep = Effect.flatMap(Clock.currentTimeMillis, sweepAt)

  const stats = call((c) => c.tasksStats(P, [])).pipe(
    Effect.flatMap(CountsReply),
    Effect.map(([pending, processing, finished, tombstones, oldest]) => ({
      pending,
      processing,
      finished,
      tombstones,
      oldestFinishedAt: Option.fromNullable(oldest)
    }))
  )

  const claim = (kinds: ReadonlyArray<string>, token: string) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const answer = yield* call((c) => c.tasksClaim(P, [...policy(now), token, String(now + leaseMs), ...kinds]))
      if (answer === null) return Option.none()
      const task = Stored.fromJson(answer)
      if (task._tag !== "PROCESSING") return yield* Effect.dieMessage(`A claim answered a ${task._tag} record`)
      held.set(token, task)
      yield* Queue.offer(work, undefined)
      return Option.some(task)
    })

  /** Writes the next state of a claimed task, if the claim still holds; refreshes a stale copy once. */
  const moveClaimed = (
    claimed: Task.Processing,
    move: (now: number) => (task: Task.Task) => Either.Either<Task.Task, Task.InvalidTransition>
  ): Effect.Effect<void, ClaimLost | RegistryUnavailable> =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const latest = held.get(claimed.claim) ?? claimed
      const next = move(now)(latest)
      if (Either.isLeft(next)) {
        return yield* Effect.logWarning(`Ignored a progress report: ${next.left.message}`).pipe(
          Effect.annotateLogs("taskId", claimed.id)
        )
      }
      const task = next.right
      const [, outcome] = yield* call((c) =>
        c.tasksPut(P, [
          ...policy(now),
          task.id,
          claimed.claim,
          String(latest.version),
          task._tag,
          ...(Task.isFinished(task) ? [String(task.completedAt), Stored.toJson(task)] : ["", ...Stored.toActive(task)])
        ])
      ).pipe(Effect.flatMap(logged(PutReply)))
      switch (outcome) {
        case "ok":
          if (task._tag === "PROCESSING") held.set(claimed.claim, task)
          else held.delete(claimed.claim)
          return
        case "lost":
          held.delete(claimed.claim)
          return yield* new ClaimLost({ taskId: claimed.id })
        case "stale": {
          // Under a claim that still holds, only its holder writes. So a record one version on is this very write,
          // made by an earlier try whose answer never came (it timed out, and the worker tried again): done, and not
          // to be applied twice. Anything else: read the record and try once more from it.
          const fresh = yield* get(claimed.id).pipe(Effect.catchIf(isNotHeld, () => Effect.succeed(undefined)))
          if (fresh?._tag !== "PROCESSING" || fresh.claim !== claimed.claim || fresh.version === latest.version) {
            return yield* new ClaimLost({ taskId: claimed.id })
          }
          held.set(claimed.claim, fresh)
          if (fresh.version === task.version) return
          return yield* moveClaimed(claimed, move)
        }
      }
    })

  const report = (claimed: Task.Processing, _n: number, progress: ProgressReport) =>
    moveClaimed(claimed, () => applyReport(progress))

  // A worker that stops because its process is shutting down hands the task back for another process to run.
  const finish = (claimed: Task.Processing, outcome: RunOutcome) =>
    moveClaimed(claimed, (now) => (outcome._tag === "Shutdown" ? Task.release() : settle(outcome, now)))

  const holdsNow = (claimed: Task.Processing) =>
    call((c) => c.hGet(`${P}t:${claimed.id}`, "claim")).pipe(
      Effect.map((current) => current === JSON.stringify(claimed.claim)),
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

  const live = Clock.make()
  const subscribeWork = Effect.succeed(
    Queue.take(work).pipe(
      Effect.timeoutTo({ duration: IDLE_POLL, onSuccess: () => undefined, onTimeout: () => undefined }),
      Effect.withClock(live)
    )
  )

  /** What the store says on its channels, in the order it said it. */
  const hear = (inbound: Connection.Inbound) =>
    Effect.gen(function* () {
      if (inbound._tag === "Resync") {
        // Notices published while the subscription was down are lost: watchers read their task again, readers of
        // `events` are told to read what they rely on again, workers look.
        for (const id of yield* channels.watched) {
          yield* get(id).pipe(Effect.flatMap(channels.publish), Effect.ignore)
        }
        yield* PubSub.publish(events, { _tag: "Missed" })
        return yield* Queue.offer(work, undefined)
      }
      const { message } = inbound
      if (inbound.channel === channel.lost) {
        const stop = stops.get(message)
        return stop === undefined ? undefined : yield* stop
      }
      const afterOrigin = message.indexOf(" ") + 1
      const here = message.slice(1, afterOrigin - 1) === origin
      if (isChange(message)) {
        const task = Stored.fromJson(message.slice(message.indexOf(" ", afterOrigin) + 1))
        yield* PubSub.publish(events, { _tag: "Changed", task, here })
        return yield* channels.publish(task)
      }
      const eviction = Stored.decodeEviction(message.slice(afterOrigin))
      if (Either.isLeft(eviction)) return yield* Effect.logWarning(`Ignored a notice from Redis: ${message}`)
      const { cause, ...tombstone } = eviction.right
      yield* PubSub.publish(events, { _tag: "Evicted", tombstone: new Tombstone(tombstone), cause, here })
    }).pipe(Effect.catchAllDefect((defect) => Effect.logError("Could not handle a notice from Redis", defect)))

  yield* Queue.take(notices).pipe(Effect.flatMap(hear), Effect.forever, Effect.forkScoped)

  const every = Schedule.spaced(Duration.millis(leaseMs / 3))

  // Renews this process's claims, and stops the handlers of those that are no longer current.
  const renew = Effect.gen(function* () {
    if (held.size === 0) return
    const now = yield* Clock.currentTimeMillis
    const pairs = Array.from(held, ([token, task]) => [task.id, token]).flat()
    const lost = yield* call((c) => c.tasksRenew(P, [...policy(now), String(now + leaseMs), ...pairs])).pipe(
      Effect.flatMap(Strings)
    )
    for (const token of lost) {
      const stop = stops.get(token)
      if (stop !== undefined) yield* stop
    }
  })

  // Takes back the claims of workers that stopped renewing them, in whichever process they ran.
  const reap: Effect.Effect<void, RegistryUnavailable> = Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    const [, requeued, failed] = yield* call((c) =>
      c.tasksReap(P, [...policy(now), String(redis.maxAttempts), JSON.stringify(WORKER_LOST), String(REAP_BATCH)])
    ).pipe(Effect.flatMap(logged(ReapReply)))
    if (requeued + failed > 0) {
      yield* Effect.logWarning(
        `Took back ${requeued + failed} task(s) whose worker stopped renewing its claim: ` +
          `${requeued} back to PENDING, ${failed} FAILED after ${redis.maxAttempts} attempt(s)`
      )
    }
    if (requeued + failed === REAP_BATCH) yield* reap
  })

  for (const [name, step] of [
    ["renew claims", renew],
    ["reap expired claims", reap]
  ] as const) {
    // Whatever goes wrong, the loop goes on: a process whose renewals stopped would lose every claim it holds.
    yield* step.pipe(
      Effect.catchTag("RegistryUnavailable", (e) => Effect.logDebug(`Could not ${name}: ${e.message}`)),
      Effect.catchAllCause((cause) => Effect.logError(`Could not ${name}`, cause)),
      Effect.schedule(every),
      Effect.forever,
      Effect.forkScoped
    )
  }

  return {
    registry: TaskRegistry.of({ submit, get, list, cancel, watch, events: eventStream, sweep, stats }),
    queue: TaskQueue.of({ claim, report, finish, onLost, subscribeWork }),
    /** Commands in flight and notices not yet handled, so that a test can wait for the store to settle. */
    pending: Effect.zipWith(connection.inFlight, Queue.size(notices), (a, b) => a + Math.max(0, b))
  }
})

/**
 * Whether a notice on the events channel is a change (`C{origin} {id} {record}`, or `W…` when the task waits for a
 * worker) rather than an eviction (`E{origin} {tombstone}`).
 */
const isChange = (notice: string) => notice[0] === "C" || notice[0] === "W"

/** The task a change notice is about. */
const idOf = (notice: string) => {
  const from = notice.indexOf(" ") + 1
  return TaskIdSchema.make(notice.slice(from, notice.indexOf(" ", from)), { disableValidation: true })
}

const isNotHeld = (e: { readonly _tag: string }): e is NotHeld =>
  e._tag === "TaskNotFound" || e._tag === "TaskExpired" || e._tag === "TaskNoLongerHeld"

/** The Redis store alone, without the sweep fiber, given its configurations and where its ids come from. */
export const layerStore: Layer.Layer<TaskRegistry | TaskQueue, never, RegistryConfig | RedisConfig | TaskIds> =
  Layer.scopedContext(
    Effect.map(make, ({ queue, registry }) => Context.make(TaskRegistry, registry).pipe(Context.add(TaskQueue, queue)))
  )

/**
 * The Redis registry with its sweep fiber, issuing ids with the `TaskIds` given. Processes that share a registry
 * must share its key too (`TASK_ID_SECRET`, or one `AUDIO_DIR`), so that each recognises the others' ids.
 */
export const layerWithTaskIds: Layer.Layer<TaskRegistry | TaskQueue, never, RegistryConfig | RedisConfig | TaskIds> =
  Sweeper.layer.pipe(Layer.provideMerge(layerStore))

/**
 * The Redis registry with its sweep fiber, configured from the `ConfigProvider` (environment variables): the
 * `TASK_*` settings, `REDIS_URL`, `TASK_REDIS_PREFIX`, `TASK_LEASE`, `TASK_MAX_ATTEMPTS`, and `TASK_ID_SECRET` as
 * the key of its ids (else a key made when it is built, which other processes do not share).
 */
export const layerConfig: Layer.Layer<
  TaskRegistry | TaskQueue | RegistryConfig | RedisConfig,
  ConfigError.ConfigError
> = layerWithTaskIds.pipe(
  Layer.provide(TaskIdsHmac.layerConfig),
  Layer.provideMerge(RegistryConfigLayers.layerConfig),
  Layer.provideMerge(RedisConfigLayers.layerConfig)
)
