import { describe, expect, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Array as Arr, Effect, Either, Exit, Layer, Option, Scope } from "effect"
import { TaskExpired, TaskNoLongerHeld } from "../../../src/domain/Errors.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import { captureLogs, cleanupCapture, cleanups, logCapture } from "../logs.js"
import type { RegistryHarness } from "../registry.js"
import { awaitStatus } from "../registry.js"
import * as Jobs from "../script.js"
import { Gates, newGate, submit } from "../script.js"

/** Eviction behaviour that every `TaskRegistry` implementation must show. */
export const evictionSuite = (harness: RegistryHarness) => {
  const { advance, layer: makeLayer } = harness
  const noSweep = { TASK_CLEANUP_THRESHOLD: "60", TASK_CLEANUP_INTERVAL: "0" }
  const using = (env: Record<string, string>) => Effect.provide(makeLayer(env))

  /** One task of each terminal status, finished in this order one millisecond apart. */
  const finishOneOfEach = Effect.gen(function* () {
    const registry = yield* TaskRegistry
    const completed = yield* submit(Jobs.instant())
    yield* awaitStatus(completed.id, "COMPLETED")
    yield* advance("1 millis")
    const failed = yield* submit(Jobs.allSegmentsFail(1))
    yield* awaitStatus(failed.id, "FAILED")
    yield* advance("1 millis")
    const cancelled = yield* registry.cancel((yield* submit(Jobs.endless(newGate()))).id)
    return [completed, failed, cancelled] as const
  })

  describe("eviction", () => {
    it.effect("removes completed, failed and cancelled tasks once older than the threshold", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const tasks = yield* finishOneOfEach
        // The oldest finished record is the first, completed at 0.
        expect(yield* registry.stats).toMatchObject({ finished: 3, oldestFinishedAt: Option.some(0) })
        yield* advance("61 seconds")
        expect(yield* registry.sweep).toBe(3)
        expect(yield* registry.stats).toEqual({
          pending: 0,
          processing: 0,
          finished: 0,
          tombstones: 3,
          oldestFinishedAt: Option.none()
        })
        const statuses = yield* Effect.forEach(tasks, (t) => Effect.flip(registry.get(t.id)))
        expect(statuses.map((e) => e instanceof TaskExpired && e.status)).toEqual(["COMPLETED", "FAILED", "CANCELLED"])
      }).pipe(using(noSweep))
    )

    it.effect("keeps a task exactly at the threshold and expires it one millisecond later, swept or not", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const task = yield* submit(Jobs.instant())
        yield* awaitStatus(task.id, "COMPLETED")
        yield* advance("60 seconds")
        expect((yield* registry.get(task.id))._tag).toBe("COMPLETED")
        expect(yield* registry.sweep).toBe(0)
        yield* advance("1 millis")
        // No sweep and no submit has run since: the read alone must answer as expired.
        const error = yield* Effect.flip(registry.get(task.id))
        expect(error).toBeInstanceOf(TaskExpired)
        expect(error).toMatchObject({ taskId: task.id, status: "COMPLETED", completedAt: 0, evictedAt: 60_001 })
        expect(yield* registry.list({})).toEqual([])
      }).pipe(using(noSweep))
    )

    it.effect("removes a task that was no work at all (no segments, weight 0) like any other", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const task = yield* submit({ total: 0, steps: [] })
        expect(yield* awaitStatus(task.id, "COMPLETED")).toMatchObject({ total: 0, completedSegments: [] })
        expect(yield* registry.stats).toMatchObject({ pending: 0, processing: 0, finished: 1 })
        yield* advance("61 seconds")
        expect(yield* registry.sweep).toBe(1)
        expect(yield* Effect.flip(registry.get(task.id))).toMatchObject({ _tag: "TaskExpired", status: "COMPLETED" })
      }).pipe(using(noSweep))
    )

    it.effect("never removes PENDING or PROCESSING tasks, at any age", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const long = yield* submit(Jobs.sleeping("3 hours"))
        const queued = yield* Effect.forEach([1, 2, 3], () => submit(Jobs.instant()))
        yield* awaitStatus(long.id, "PROCESSING")
        for (let minutes = 10; minutes < 180; minutes += 10) {
          yield* advance("10 minutes")
          yield* registry.sweep
          yield* submit(Jobs.instant()).pipe(Effect.flatMap((t) => registry.cancel(t.id)))
          expect((yield* registry.get(long.id))._tag).toBe("PROCESSING")
          for (const q of queued) expect((yield* registry.get(q.id))._tag).toBe("PENDING")
        }
        yield* advance("10 minutes")
        yield* awaitStatus(long.id, "COMPLETED")
        for (const q of queued) yield* awaitStatus(q.id, "COMPLETED")
      }).pipe(using({ TASK_CLEANUP_THRESHOLD: "3600", TASK_CLEANUP_INTERVAL: "60", TASK_CONCURRENCY: "1" }))
    )

    it.effect("cleans up on every submit when the sweep fiber is off, and logs the count at Info", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        yield* finishOneOfEach
        yield* advance("2 hours")
        expect((yield* registry.stats).finished).toBe(3)
        const quiet = yield* captureLogs(registry.stats)
        expect(cleanups(quiet.lines)).toEqual([])
        const { lines } = yield* captureLogs(submit(Jobs.instant()))
        expect(cleanups(lines)).toEqual([
          { level: "INFO", message: "Cleaned up 3 finished task(s)", annotations: { evicted: 3 }, spans: [] }
        ])
        expect((yield* registry.stats).tombstones).toBe(3)
        const again = yield* captureLogs(submit(Jobs.instant()))
        expect(cleanups(again.lines)).toEqual([])
      }).pipe(using(noSweep))
    )

    it.effect("keeps at most TASK_MAX_RETAINED finished records, dropping the oldest first", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const ids = []
        for (let i = 0; i < 5; i++) {
          const task = yield* submit(Jobs.instant())
          yield* awaitStatus(task.id, "COMPLETED")
          ids.push(task.id)
          yield* advance("1 second")
        }
        expect(yield* registry.stats).toMatchObject({ pending: 0, processing: 0, finished: 2, tombstones: 3 })
        const answers = yield* Effect.forEach(ids, (id) => Effect.either(registry.get(id)))
        expect(answers.map(Either.isRight)).toEqual([false, false, false, true, true])
      }).pipe(using({ ...noSweep, TASK_MAX_RETAINED: "2" }))
    )

    it.effect("logs the records a finish pushes over TASK_MAX_RETAINED, counted with those due before it", () => {
      const { layer, lines } = logCapture()
      return Effect.gen(function* () {
        const first = yield* submit(Jobs.instant())
        yield* awaitStatus(first.id, "COMPLETED")
        yield* advance("1 second")
        const second = yield* submit(Jobs.instant())
        yield* awaitStatus(second.id, "COMPLETED")
        // The second task's finish pushed the first over the cap of 1: one record cleaned up, and said so once.
        expect(cleanups(lines).map((l) => [l.message, l.annotations.evicted])).toEqual([
          ["Cleaned up 1 finished task(s)", 1]
        ])
      }).pipe(using({ ...noSweep, TASK_MAX_RETAINED: "1" }), Effect.provide(layer))
    })

    it.effect("answers an evicted id from its tombstone, and keeps at most TASK_TOMBSTONES of them", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const tasks = yield* finishOneOfEach
        yield* advance("61 seconds")
        yield* registry.sweep
        const answers = yield* Effect.forEach(tasks, (t) => Effect.flip(registry.get(t.id)))
        // Its tombstone dropped, the oldest is known only by its id (see the ids suite).
        expect(answers[0]).toBeInstanceOf(TaskNoLongerHeld)
        expect(answers.slice(1).map((e) => e instanceof TaskExpired && e.status)).toEqual(["FAILED", "CANCELLED"])
        expect((yield* registry.stats).tombstones).toBe(2)
      }).pipe(using({ ...noSweep, TASK_TOMBSTONES: "2" }))
    )
  })

  describe("eviction log", () => {
    // Only the cap evicts: every task finished past the first ten evicts one record, in passing.
    const capped = { TASK_CLEANUP_THRESHOLD: "3600", TASK_CLEANUP_INTERVAL: "0", TASK_MAX_RETAINED: "10" }

    /**
     * Finishes `n` tasks, `batch` at a time, each submitted and then cancelled while it waits (the only worker is kept
     * busy), and moves the clock on by `step` after each batch: two steps per task, so that even a store whose every
     * step is a round trip runs thousands quickly. Answers the task that keeps the worker busy.
     */
    const cancelTasks = (n: number, batch: number, step: Duration.DurationInput) =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const busy = yield* submit(Jobs.endless(newGate()))
        yield* awaitStatus(busy.id, "PROCESSING")
        for (let done = 0; done < n; done += batch) {
          const tasks = yield* Effect.forEach(Arr.range(1, Math.min(batch, n - done)), () => submit(Jobs.instant()))
          yield* Effect.forEach(tasks, (task) => registry.cancel(task.id), { discard: true })
          yield* advance(step)
        }
        return busy
      })

    it.effect("says a steady trickle of cap evictions once a minute, and counts every one", () => {
      const { layer, lines } = cleanupCapture()
      const tasks = 5_000
      return Effect.gen(function* () {
        const registry = yield* TaskRegistry
        // 5,000 tasks over 5 simulated minutes, 50 every 3 seconds.
        yield* cancelTasks(tasks, 50, "3 seconds")
        yield* advance("1 minute")
        expect(yield* registry.stats).toMatchObject({ pending: 0, processing: 1, finished: 10 })
        // The first eviction is said at once; then one line a minute at most, each with the count since the last.
        expect(lines[0]).toEqual({ at: 0, message: "Cleaned up 1 finished task(s)", evicted: 1 })
        for (const [before, line] of Arr.zip(lines, lines.slice(1))) {
          expect(line.at - before.at).toBeGreaterThanOrEqual(60_000)
          expect(line.message).toBe(`Cleaned up ${line.evicted} finished task(s) in the last minute`)
        }
        expect(lines.length).toBeLessThanOrEqual(7)
        expect(lines.reduce((sum, line) => sum + line.evicted, 0)).toBe(tasks - 10)
        // Nothing is pending: no more lines.
        const said = lines.length
        yield* advance("5 minutes")
        expect(lines).toHaveLength(said)
      }).pipe(using({ ...capped, TASK_CONCURRENCY: "1" }), Effect.provide(layer))
    })

    it.effect("says what it has counted and not said yet when the store's scope closes", () => {
      const { layer, lines } = cleanupCapture()
      return Effect.gen(function* () {
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(makeLayer({ ...capped, TASK_CONCURRENCY: "1" }), scope)
        // 14 finished tasks over a cap of 10: the first eviction is said at once, the next three are counted.
        yield* Effect.gen(function* () {
          const busy = yield* cancelTasks(13, 13, "0 millis")
          yield* (yield* TaskRegistry).cancel(busy.id)
          yield* advance("59 seconds")
        }).pipe(Effect.provide(context))
        expect(lines).toEqual([{ at: 0, message: "Cleaned up 1 finished task(s)", evicted: 1 }])
        yield* Scope.close(scope, Exit.void)
        expect(lines.slice(1)).toEqual([
          { at: 59_000, message: "Cleaned up 3 finished task(s) in the last minute", evicted: 3 }
        ])
      }).pipe(Effect.provide(layer))
    })

    it.effect("says a sweep's count at once, in one line, however many it evicts", () => {
      const { layer, lines } = cleanupCapture()
      return Effect.gen(function* () {
        const registry = yield* TaskRegistry
        // The last cancel evicts one record, said at once: a line was said less than a minute before the sweep.
        yield* cancelTasks(1_200, 50, "0 millis")
        expect(lines).toEqual([{ at: 0, message: "Cleaned up 1 finished task(s)", evicted: 1 }])
        yield* advance("2 seconds")
        expect(yield* registry.sweep).toBe(1_199)
        expect(lines.slice(1)).toEqual([{ at: 2_000, message: "Cleaned up 1199 finished task(s)", evicted: 1_199 }])
      }).pipe(
        using({ TASK_CLEANUP_THRESHOLD: "1", TASK_CLEANUP_INTERVAL: "0", TASK_MAX_RETAINED: "1199" }),
        Effect.provide(layer)
      )
    })
  })

  describe("sweep fiber", () => {
    it.effect("evicts in an idle registry after one interval, not before, and logs the count", () => {
      const { layer, lines } = logCapture()
      return Effect.gen(function* () {
        const registry = yield* TaskRegistry
        yield* finishOneOfEach
        yield* advance("599 seconds")
        expect((yield* registry.stats).finished).toBe(3)
        expect(cleanups(lines)).toEqual([])
        yield* advance("1 second")
        expect((yield* registry.stats).finished).toBe(0)
        expect(cleanups(lines).map((l) => l.message)).toEqual(["Cleaned up 3 finished task(s)"])
      }).pipe(using({ TASK_CLEANUP_THRESHOLD: "60", TASK_CLEANUP_INTERVAL: "600" }), Effect.provide(layer))
    })

    it.effect("does not run when the interval is 0", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        yield* finishOneOfEach
        yield* advance("1 day")
        expect((yield* registry.stats).finished).toBe(3)
      }).pipe(using(noSweep))
    )

    it.effect("stops, with every running task, when the layer's scope closes", () =>
      Effect.gen(function* () {
        const shared = harness.shared === undefined ? {} : yield* harness.shared
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(
          makeLayer({ ...shared, TASK_CLEANUP_THRESHOLD: "60", TASK_CONCURRENCY: "2" }),
          scope
        )
        const gates = yield* Effect.provide(Gates, context)
        const interrupted = newGate("interrupted")
        const [running, done] = yield* Effect.gen(function* () {
          const running = yield* submit(Jobs.endless(interrupted))
          const done = yield* submit(Jobs.instant())
          yield* awaitStatus(done.id, "COMPLETED")
          yield* awaitStatus(running.id, "PROCESSING")
          return [running, done] as const
        }).pipe(Effect.provide(context))
        yield* Scope.close(scope, Exit.void)
        expect(yield* gates.isOpen(interrupted)).toBe(true)
        if (harness.shared === undefined) {
          // Nothing else can run the task: it ends with the process.
          const registry = yield* Effect.provide(TaskRegistry, context)
          expect(yield* registry.get(running.id)).toMatchObject({
            _tag: "CANCELLED",
            reason: "Interrupted before it finished: the server shut down"
          })
          yield* advance("1 hour")
          expect((yield* registry.stats).finished).toBe(2)
        } else {
          // Handed back, with its attempt given back too, for another process to run.
          yield* Effect.gen(function* () {
            const registry = yield* TaskRegistry
            expect(yield* registry.get(running.id)).toMatchObject({ _tag: "PENDING", attempts: 0 })
            expect((yield* registry.get(done.id))._tag).toBe("COMPLETED")
            expect(yield* registry.stats).toMatchObject({ pending: 1, processing: 0, finished: 1 })
          }).pipe(Effect.provide(makeLayer({ ...shared, TASK_CONCURRENCY: "0" })))
        }
      }).pipe(Effect.scoped)
    )
  })
}
