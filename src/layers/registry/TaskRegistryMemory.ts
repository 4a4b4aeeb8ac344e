import type { ConfigError } from "effect"
import { Array as Arr, Clock, Context, Duration, Effect, Either, HashMap, Layer, Option, Order, Ref } from "effect"
import { IdempotencyKeyReused, RegistryBusy, RegistryFull, TaskAlreadyFinished } from "../../domain/Errors.js"
import { entryOf, firstStored } from "../../domain/IdempotencyKey.js"
import type { ProgressReport, RunOutcome } from "../../domain/Outcome.js"
import { applyReport, settle } from "../../domain/Outcome.js"
import * as State from "../../domain/RegistryState.js"
import type { InvalidTransition } from "../../domain/Task.js"
import * as Task from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import type { TaskKind } from "../../domain/TaskKind.js"
import { RegistryConfig } from "../../services/RegistryConfig.js"
import * as RegistryConfigLayers from "../../services/RegistryConfig.js"
import { TaskIds } from "../../services/TaskIds.js"
import { ClaimLost, TaskQueue } from "../../services/TaskQueue.js"
import type { ListFilter, SubmitOptions, UntoldEvent } from "../../services/TaskRegistry.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import type { NotHeld } from "./RegistryCommon.js"
import { fingerprintOf, idempotencyKeyOf, notHeld, pendingTask } from "./RegistryCommon.js"
import * as EvictionLog from "./EvictionLog.js"
import * as IdleWorkers from "./IdleWorkers.js"
import * as Sweeper from "./Sweeper.js"
import * as TaskIdsHmac from "../ids/TaskIdsHmac.js"
import * as EventLog from "./EventLog.js"
import * as WatchChannels from "./WatchChannels.js"

const newestFirst: Order.Order<Task.Task> = Order.combine(
  Order.reverse(Order.mapInput(Order.number, (t: Task.Task) => t.createdAt)),
  Order.mapInput(Order.string, (t: Task.Task) => t.id)
)

/** Is `claim` still the task's current claim? */
const holds = (claim: Task.Processing) => (task: Task.Task) => task._tag === "PROCESSING" && task.claim === claim.claim

/** Why a submit was not accepted, as the step that decides it answers. */
type Refused = RegistryFull | RegistryBusy | IdempotencyKeyReused

/** What one atomic step answers, the state it leaves, and the record it changed (published to watchers). */
type Step<A> = readonly [A, State.RegistryState, Task.Task?]

/** A step's answer, the record it changed and that record before, and how many records it evicted. */
type Modified<A> = readonly [A, Task.Task | undefined, Task.Task | undefined, number]

const evicted =
  (now: number, cause: "age" | "cap") =>
  (task: Task.FinishedTask): UntoldEvent => ({
    _tag: "Evicted",
    tombstone: State.tombstoneOf(task, now),
    cause,
    here: true
  })

/**
 * The in-memory store: one `Ref` of immutable state, changed in single atomic steps. Changes are published to
 * watchers; workers (see `TaskWorkers`) claim tasks through its `TaskQueue` side.
 */
export const make = Effect.gen(function* () {
  const config = yield* RegistryConfig
  const ids = yield* TaskIds
  const policy = { thresholdMs: Duration.toMillis(config.cleanupThreshold), maxRetained: config.maxRetained }
  const state = yield* Ref.make(State.empty({ tombstoneCapacity: config.tombstones }))
  const channels = yield* WatchChannels.make
  const log = EventLog.make()
  const evictions = yield* EvictionLog.make
  // Idle workers by kind set: a task waiting wakes one of them that runs its kind, not every idle worker.
  const idle = IdleWorkers.make()
  // What to do when a claim that a worker is running is lost: stop its handler.
  const claims = yield* Ref.make(HashMap.empty<string, Effect.Effect<void>>())

  /**
   * One atomic step: evicts what is due at `now`, applies `f`, then enforces the cap, which a task that `f`
   * finished may have pushed over (a record finished at `now` cannot have expired yet). The change and the
   * evictions are published in the same synchronous step as the state is changed, so that no change is stored
   * without readers and watchers hearing of it, and they hear of a task's changes in version order. What it evicted
   * is said by `say`: counted as evicted in passing, unless a sweep says it.
   */
  const modifyCounting = <A>(
    now: number,
    f: (s: State.RegistryState) => Step<A>,
    say: (count: number) => Effect.Effect<void> = evictions.evicted
  ) =>
    Effect.uninterruptible(
      Effect.gen(function* () {
        const [result, changed, previous, count] = yield* Ref.modify(state, (s): [Modified<A>, State.RegistryState] => {
          // Every step ends within the cap, so only what `f` does can push the state over it.
          const aged = State.evictExpired(now, policy.thresholdMs)(s)
          const [result, next, changed] = f(aged.state)
          const previous = changed && Option.getOrUndefined(State.lookup(changed.id)(aged.state))
          const after = State.enforceCap(now, policy.maxRetained)(next)
          // In the order they happened: what was due before the step, the change, what it pushed over the cap.
          for (const task of aged.evicted) log.unsafePublish(evicted(now, "age")(task))
          if (changed !== undefined) {
            log.unsafePublish({ _tag: "Changed", task: changed, here: true })
            channels.unsafePublish(changed)
          }
          for (const task of after.evicted) log.unsafePublish(evicted(now, "cap")(task))
          const count = aged.evicted.length + after.evicted.length
          return [[result, changed, previous, count], after.state]
        })
        if (changed !== undefined) {
          if (changed._tag === "PENDING") idle.wake(changed.kind)
          // A claim that this change ended (the task was cancelled) is lost: tell the worker that holds it.
          if (previous?._tag === "PROCESSING" && !holds(previous)(changed)) {
            const stop = HashMap.get(yield* Ref.get(claims), previous.claim)
            if (Option.isSome(stop)) yield* stop.value
          }
        }
        yield* say(count)
        return [result, count] as const
      })
    )

  const modify = <A>(now: number, f: (s: State.RegistryState) => Step<A>) =>
    Effect.map(modifyCounting(now, f), ([result]) => result)

  /** Evicts what is due at `now` and answers how many records went, said by `say`. */
  const sweepAt = (now: number, say: (count: number) => Effect.Effect<void>) =>
    Effect.map(
      modifyCounting(now, (s) => [undefined, s], say),
      ([, evicted]) => evicted
    )

  /**
   * The state as of `now`. Reads write only when the oldest finished record has expired, so that a record past
   * its threshold answers as expired whether or not a sweep has run, while an ordinary poll stays a plain read.
   */
  const current = (now: number) =>
    Effect.flatMap(Ref.get(state), (s) =>
      Option.exists(State.oldestFinished(s), State.isExpired(now, policy.thresholdMs))
        ? Effect.zipRight(sweepAt(now, evictions.evicted), Ref.get(state))
        : Effect.succeed(s)
    )

  const submit = <Name extends string, A, I>(kind: TaskKind<Name, A, I>, payload: A, options?: SubmitOptions) =>
    Effect.gen(function* () {
      const key = yield* idempotencyKeyOf(options)
      const task = yield* pendingTask(ids, config.maxPendingWork, kind, payload)
      const { createdAt: now, weight } = task
      const keyed = key === undefined ? undefined : { key, fingerprint: fingerprintOf(kind.name, task.payload) }
      // The key is looked up in the same step as the insert, so that concurrent repeats make one task.
      const answer = yield* modify(now, (s): Step<Either.Either<Task.Pending, Refused>> => {
        const earlier = keyed === undefined ? Option.none() : State.keyed(keyed.key)(s)
        if (keyed !== undefined && Option.isSome(earlier)) {
          const entry = earlier.value
          // A repeat is answered as the first submit was, without a second task or another admission check.
          return entry.fingerprint === keyed.fingerprint
            ? [Either.right(firstStored(entry, kind.name, task.payload)), s]
            : [Either.left(new IdempotencyKeyReused({ idempotencyKey: keyed.key, taskId: entry.taskId })), s]
        }
        if (State.activeCount(s) >= config.maxPending) {
          return [Either.left(new RegistryFull({ maxPending: config.maxPending })), s]
        }
        if (s.activeWeight + weight > config.maxPendingWork) {
          const busy = new RegistryBusy({
            weight,
            pendingWeight: s.activeWeight,
            maxPendingWeight: config.maxPendingWork
          })
          return [Either.left(busy), s]
        }
        const stored = State.enqueue(task)(s)
        return [
          Either.right(task),
          keyed === undefined ? stored : State.remember(keyed.key, entryOf(task, keyed.fingerprint))(stored),
          task
        ]
      })
      return yield* answer
    })

  const get = (id: TaskId) =>
    Effect.gen(function* () {
      const s = yield* current(yield* Clock.currentTimeMillis)
      return yield* Option.match(State.lookup(id)(s), {
        onNone: () => Effect.fail(notHeld(ids, State.tombstone(id)(s), id)),
        onSome: Effect.succeed
      })
    })

  const list = (filter: ListFilter) =>
    Effect.gen(function* () {
      const s = yield* current(yield* Clock.currentTimeMillis)
      const matching =
        filter.status === undefined
          ? Arr.fromIterable(HashMap.values(s.tasks))
          : Arr.filter(HashMap.values(s.tasks), (t) => t._tag === filter.status)
      const sorted = Arr.sort(matching, newestFirst)
      return filter.limit === undefined ? sorted : Arr.take(sorted, filter.limit)
    })

  const cancel = (id: TaskId) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const result = yield* modify(now, (s): Step<Either.Either<Task.Cancelled, NotHeld | TaskAlreadyFinished>> => {
        const found = State.lookup(id)(s)
        if (Option.isNone(found)) return [Either.left(notHeld(ids, State.tombstone(id)(s), id)), s]
        const task = found.value
        return Either.match(Task.cancel(now, "Cancelled by request")(task), {
          onLeft: () => [Either.left(new TaskAlreadyFinished({ taskId: id, status: task._tag })), s],
          onRight: (cancelled) => [Either.right(cancelled), State.putFinished(cancelled)(s), cancelled]
        })
      })
      // The record is CANCELLED and published; the worker running it hears of it and stops its handler.
      return yield* result
    })

  const watch = (id: TaskId) => channels.watch(id, get)

  const sweep = Effect.flatMap(Clock.currentTimeMillis, (now) => sweepAt(now, evictions.swept))

  const stats = Effect.map(Ref.get(state), (s) => {
    const pending = State.pendingCount(s)
    return {
      pending,
      processing: State.activeCount(s) - pending,
      finished: State.finishedCount(s),
      tombstones: HashMap.size(s.tombstones.byId),
      oldestFinishedAt: Option.map(State.oldestFinished(s), (task) => task.completedAt)
    }
  })

  // A call to the in-memory store always answers, but the queue's contract lets a caller retry, so it is honoured
  // here as on every store: a claim retried with its token answers the task it holds, a report retried with its
  // number is applied once. What that takes lives with each claim in the state, and goes when the claim ends.
  const claim = (kinds: ReadonlyArray<string>, token: string) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      return yield* modify(now, (s): Step<Option.Option<Task.Processing>> => {
        const held = State.claimedBy(token)(s)
        if (Option.isSome(held)) return [held, s]
        return Option.match(State.nextPending(kinds)(s), {
          onNone: () => [Option.none(), s],
          onSome: (pending) => {
            const started = Either.getOrThrow(Task.start(now, token)(pending))
            return [Option.some(started), State.putRunning(started)(s), started]
          }
        })
      })
    })

  /**
   * Moves a claimed task on, if the claim still holds and, for a numbered report, that report has not been applied
   * yet; a move the task cannot make is logged and ignored.
   */
  const moveClaimed = (
    claimed: Task.Processing,
    move: (now: number) => (task: Task.Task) => Either.Either<Task.Task, InvalidTransition>,
    n?: number
  ) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const result = yield* modify(now, (s): Step<Either.Either<Option.Option<InvalidTransition>, ClaimLost>> => {
        const found = Option.filter(State.lookup(claimed.id)(s), holds(claimed))
        if (Option.isNone(found)) return [Either.left(new ClaimLost({ taskId: claimed.id })), s]
        if (n !== undefined && State.hasReported(claimed.claim, n)(s)) return [Either.right(Option.none()), s]
        return Either.match(move(now)(found.value), {
          onLeft: (refused) => [Either.right(Option.some(refused)), s],
          onRight: (task) => {
            const moved = State.put(task)(s)
            return [
              Either.right(Option.none()),
              n === undefined ? moved : State.markReported(claimed.claim, n)(moved),
              task
            ]
          }
        })
      })
      const refused = yield* result
      if (Option.isSome(refused)) {
        yield* Effect.logWarning(`Ignored a progress report: ${refused.value.message}`).pipe(
          Effect.annotateLogs("taskId", claimed.id)
        )
      }
    })

  const report = (claimed: Task.Processing, n: number, progress: ProgressReport) =>
    Number.isSafeInteger(n) && n >= 1
      ? moveClaimed(claimed, () => applyReport(progress), n)
      : Effect.dieMessage(`A report is numbered from 1 under its claim, not ${n}`)

  const finish = (claimed: Task.Processing, outcome: RunOutcome) => moveClaimed(claimed, (now) => settle(outcome, now))

  const onLost = (claimed: Task.Processing, stop: Effect.Effect<void>) =>
    Ref.update(claims, HashMap.set(claimed.claim, stop)).pipe(
      // Registered before this read, so that a cancel is either seen here or runs `stop` itself.
      Effect.zipRight(Ref.get(state)),
      Effect.flatMap((s) => (Option.exists(State.lookup(claimed.id)(s), holds(claimed)) ? Effect.void : stop)),
      Effect.as(Ref.update(claims, HashMap.remove(claimed.claim)))
    )

  const subscribeWork = (kinds: ReadonlyArray<string>) => Effect.sync(() => idle.join(kinds).sleep)

  return {
    registry: TaskRegistry.of({
      submit,
      get,
      list,
      cancel,
      watch,
      events: log.events,
      eventsAfter: log.eventsAfter,
      sweep,
      stats,
      readsInProcess: true
    }),
    queue: TaskQueue.of({ claim, report, finish, onLost, subscribeWork })
  }
})

/** The in-memory store alone, without the sweep fiber, given its configuration and where its ids come from. */
export const layerStore: Layer.Layer<TaskRegistry | TaskQueue, never, RegistryConfig | TaskIds> = Layer.scopedContext(
  Effect.map(make, ({ queue, registry }) => Context.make(TaskRegistry, registry).pipe(Context.add(TaskQueue, queue)))
)

/**
 * The in-memory registry with its sweep fiber, issuing ids with the `TaskIds` given: one whose key outlives the
 * process (as the server's does) keeps ids from before a restart recognisable.
 */
export const layerWithTaskIds: Layer.Layer<TaskRegistry | TaskQueue, never, RegistryConfig | TaskIds> =
  Sweeper.layer.pipe(Layer.provideMerge(layerStore))

/**
 * The in-memory registry with its sweep fiber, given its configuration. Its ids are signed under a key made when it
 * is built, so nothing more need be provided; use `layerWithTaskIds` to keep ids recognisable across restarts.
 * Workers come from `TaskWorkers.layer`.
 */
export const layer: Layer.Layer<TaskRegistry | TaskQueue, never, RegistryConfig> = layerWithTaskIds.pipe(
  Layer.provide(TaskIdsHmac.layerEphemeral)
)

/**
 * The in-memory registry with its sweep fiber, configured from the `ConfigProvider` (environment variables): the
 * `TASK_*` settings, and `TASK_ID_SECRET` as the key of its ids when it is set (else a key made when it is built).
 */
export const layerConfig: Layer.Layer<TaskRegistry | TaskQueue | RegistryConfig, ConfigError.ConfigError> =
  layerWithTaskIds.pipe(Layer.provide(TaskIdsHmac.layerConfig), Layer.provideMerge(RegistryConfigLayers.layerConfig))
