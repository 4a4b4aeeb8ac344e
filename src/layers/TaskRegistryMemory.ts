import type { Exit } from "effect"
import {
  Array as Arr,
  Cause,
  Clock,
  Duration,
  Effect,
  Either,
  FiberMap,
  HashMap,
  Layer,
  Option,
  Order,
  Ref
} from "effect"
import { RegistryFull, TaskAlreadyFinished, TaskExpired, TaskNotFound } from "../domain/Errors.js"
import { settle as settleTransition } from "../domain/Outcome.js"
import * as State from "../domain/RegistryState.js"
import type { InvalidTransition } from "../domain/Task.js"
import * as Task from "../domain/Task.js"
import { TaskId } from "../domain/TaskId.js"
import { RegistryConfig } from "../services/RegistryConfig.js"
import type { Job, JobProgress, ListFilter } from "../services/TaskRegistry.js"
import { TaskRegistry } from "../services/TaskRegistry.js"

const newestFirst: Order.Order<Task.Task> = Order.combine(
  Order.reverse(Order.mapInput(Order.number, (t: Task.Task) => t.createdAt)),
  Order.mapInput(Order.string, (t: Task.Task) => t.id)
)

const logEvicted = (count: number) =>
  count === 0
    ? Effect.void
    : Effect.logInfo(`Cleaned up ${count} finished task(s)`).pipe(Effect.annotateLogs("evicted", count))

const tombstoneOrNotFound = (state: State.RegistryState, id: TaskId) =>
  Option.match(State.tombstone(id)(state), {
    onNone: () => new TaskNotFound({ taskId: id }),
    onSome: (t) =>
      new TaskExpired({ taskId: t.id, status: t.status, completedAt: t.completedAt, evictedAt: t.evictedAt })
  })

type Cancellation = Either.Either<Task.Cancelled, TaskNotFound | TaskExpired | TaskAlreadyFinished>

/** The in-memory registry: one `Ref` of immutable state, task fibers in a `FiberMap` owned by the layer's scope. */
export const make = Effect.gen(function* () {
  const config = yield* RegistryConfig
  const policy = { thresholdMs: Duration.toMillis(config.cleanupThreshold), maxRetained: config.maxRetained }
  const state = yield* Ref.make(State.empty({ tombstoneCapacity: config.tombstones }))
  const fibers = yield* FiberMap.make<TaskId>()
  const slots = yield* Effect.makeSemaphore(config.concurrency)

  /**
   * One atomic update: evicts what is due at `now`, applies `f`, then enforces the cap, which a task that `f`
   * finished may have pushed over (a record finished at `now` cannot have expired yet). Answers `f`'s result and
   * how many records were evicted.
   */
  const modifyCounting = <A>(now: number, f: (s: State.RegistryState) => readonly [A, State.RegistryState]) =>
    Ref.modify(state, (s): [readonly [A, number], State.RegistryState] => {
      const before = State.evict(now, policy)(s)
      const [result, changed] = f(before.state)
      const after = State.enforceCap(now, policy.maxRetained)(changed)
      return [[result, before.evicted.length + after.evicted.length], after.state]
    }).pipe(Effect.tap(([, evicted]) => logEvicted(evicted)))

  const modify = <A>(now: number, f: (s: State.RegistryState) => readonly [A, State.RegistryState]) =>
    Effect.map(modifyCounting(now, f), ([result]) => result)

  const evictNow = (now: number) =>
    Effect.map(
      modifyCounting(now, (s) => [undefined, s]),
      ([, evicted]) => evicted
    )

  /**
   * The state as of `now`. Reads write only when the oldest finished record has expired, so that a record past
   * its threshold answers as expired whether or not a sweep has run, while an ordinary poll stays a plain read.
   */
  const current = (now: number) =>
    Effect.flatMap(Ref.get(state), (s) =>
      Option.exists(State.oldestFinished(s), State.isExpired(now, policy.thresholdMs))
        ? Effect.zipRight(evictNow(now), Ref.get(state))
        : Effect.succeed(s)
    )

  /** Moves an active task on; a step the task can no longer take (it was cancelled meanwhile) changes nothing. */
  const step = (id: TaskId, now: number, next: (task: Task.Task) => Either.Either<Task.Task, InvalidTransition>) =>
    modify(now, (s): readonly [Option.Option<InvalidTransition>, State.RegistryState] => {
      const found = State.lookup(id)(s)
      if (Option.isNone(found) || Task.isFinished(found.value)) return [Option.none(), s]
      return Either.match(next(found.value), {
        onLeft: (refused) => [Option.some(refused), s],
        onRight: (task) => [
          Option.none(),
          Task.isFinished(task) ? State.putFinished(task)(s) : State.putActive(task)(s)
        ]
      })
    })

  const report = (id: TaskId, next: (task: Task.Task) => Either.Either<Task.Task, InvalidTransition>) =>
    Clock.currentTimeMillis.pipe(
      Effect.flatMap((now) => step(id, now, next)),
      Effect.flatMap(
        Option.match({
          onNone: () => Effect.void,
          onSome: (refused) => Effect.logWarning(`Ignored a progress report: ${refused.message}`)
        })
      ),
      Effect.annotateLogs("taskId", id)
    )

  const progressOf = (id: TaskId): JobProgress => ({
    taskId: id,
    segmentDone: (segment) => report(id, Task.segmentDone(segment)),
    segmentFailed: (error) => report(id, Task.segmentFailed(error))
  })

  /** Records how the task's fiber ended, whatever ended it; a task cancelled on request is already final. */
  const settle = (id: TaskId, exit: Exit.Exit<void, unknown>) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const refused = yield* step(id, now, settleTransition(exit, now))
      if (exit._tag === "Failure" && !Cause.isInterruptedOnly(exit.cause)) {
        yield* Effect.logWarning("Task ended with an error", exit.cause)
      }
      if (Option.isSome(refused)) yield* Effect.logWarning(`Could not record the task's end: ${refused.value.message}`)
    }).pipe(Effect.annotateLogs("taskId", id))

  const runTask = (id: TaskId, job: Job) =>
    slots
      .withPermits(1)(
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const refused = yield* step(id, now, Task.start(now))
          // Cancelled while it waited for a slot: nothing to run.
          if (Option.isSome(refused)) return
          yield* Effect.suspend(() => job.run(progressOf(id)))
        })
      )
      .pipe(
        Effect.onExit((exit) => settle(id, exit)),
        // The outcome is recorded on the task; the fiber itself has nothing left to report.
        Effect.catchAllCause(() => Effect.void)
      )

  const submit = (job: Job) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      // Task ids are unguessable (crypto-random) because knowing one is enough to read or cancel the task.
      const id = TaskId.make(crypto.randomUUID())
      const task = new Task.Pending({ id, total: job.total, createdAt: now })
      const accepted = yield* modify(now, (s) =>
        State.activeCount(s) >= config.maxPending ? [false, s] : [true, State.putActive(task)(s)]
      )
      if (!accepted) return yield* new RegistryFull({ maxPending: config.maxPending })
      yield* FiberMap.run(fibers, id, runTask(id, job))
      return task
    })

  const get = (id: TaskId) =>
    Effect.gen(function* () {
      const s = yield* current(yield* Clock.currentTimeMillis)
      return yield* Option.match(State.lookup(id)(s), {
        onNone: () => Effect.fail(tombstoneOrNotFound(s, id)),
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
      const result = yield* modify(now, (s): readonly [Cancellation, State.RegistryState] => {
        const found = State.lookup(id)(s)
        if (Option.isNone(found)) return [Either.left(tombstoneOrNotFound(s, id)), s]
        const task = found.value
        return Either.match(Task.cancel(now, "Cancelled by request")(task), {
          onLeft: () => [Either.left(new TaskAlreadyFinished({ taskId: id, status: task._tag })), s],
          onRight: (cancelled) => [Either.right(cancelled), State.putFinished(cancelled)(s)]
        })
      })
      const cancelled = yield* result
      // The record is already CANCELLED, so the fiber's own exit changes nothing; this waits for it to stop.
      yield* FiberMap.remove(fibers, id)
      return cancelled
    })

  const sweep = Effect.flatMap(Clock.currentTimeMillis, evictNow)

  const stats = Effect.map(Ref.get(state), (s) => {
    let pending = 0
    for (const task of HashMap.values(s.tasks)) if (task._tag === "PENDING") pending++
    return {
      pending,
      processing: State.activeCount(s) - pending,
      finished: State.finishedCount(s),
      tombstones: HashMap.size(s.tombstones.byId)
    }
  })

  return TaskRegistry.of({ submit, get, list, cancel, sweep, stats })
})

/** The in-memory registry, given its configuration. */
export const layer: Layer.Layer<TaskRegistry, never, RegistryConfig> = Layer.scoped(TaskRegistry, make)
