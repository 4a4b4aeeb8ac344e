import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Option, TestClock } from "effect"
import { RegistryFull, TaskAlreadyFinished, TaskNotFound } from "../../../src/domain/Errors.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import { SegmentError } from "../../../src/domain/Task.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import * as Jobs from "../jobs.js"
import type { RegistryLayer } from "../registry.js"
import { awaitStatus, settle } from "../registry.js"

/** Task lifecycle behaviour that every `TaskRegistry` implementation must show (issue items 6, 7 and 9). */
export const lifecycleSuite = (makeLayer: RegistryLayer) => {
  const using = (env: Record<string, string> = {}) => Effect.provide(makeLayer(env))

  describe("task lifecycle", () => {
    it.effect("runs a job to COMPLETED with its progress and times", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        yield* TestClock.adjust("5 seconds")
        const submitted = yield* registry.submit(Jobs.sleeping("2 seconds", 3))
        expect(submitted._tag).toBe("PENDING")
        yield* awaitStatus(submitted.id, "PROCESSING")
        yield* TestClock.adjust("2 seconds")
        const done = yield* awaitStatus(submitted.id, "COMPLETED")
        expect(done).toMatchObject({ createdAt: 5000, startedAt: 5000, completedAt: 7000, total: 3, errors: [] })
        expect(done._tag === "COMPLETED" && done.completedSegments.map((s) => s.segmentId)).toEqual(["s0", "s1", "s2"])
      }).pipe(using())
    )

    it.effect("ends FAILED with the job's message when it fails, keeping what it did", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const task = yield* registry.submit(Jobs.failing("disk full"))
        const ended = yield* awaitStatus(task.id, "FAILED")
        expect(ended._tag === "FAILED" && ended.error).toBe("Task failed: disk full")
        expect(ended._tag === "FAILED" && ended.completedSegments.length).toBe(1)
      }).pipe(using())
    )

    it.effect("ends FAILED when the job dies with a defect", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const task = yield* registry.submit(Jobs.dying("boom"))
        const ended = yield* awaitStatus(task.id, "FAILED")
        expect(ended._tag === "FAILED" && ended.error).toBe("Task died unexpectedly: boom")
      }).pipe(using())
    )

    it.effect("ends CANCELLED with a reason when the job is interrupted", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const task = yield* registry.submit(Jobs.selfInterrupting)
        const ended = yield* awaitStatus(task.id, "CANCELLED")
        expect(ended._tag === "CANCELLED" && ended.reason).toMatch(/Interrupted/)
      }).pipe(using())
    )

    it.effect("ends FAILED when every segment failed, COMPLETED with errors when only some did", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const all = yield* registry.submit(Jobs.allSegmentsFail(2))
        const failed = yield* awaitStatus(all.id, "FAILED")
        expect(failed._tag === "FAILED" && failed.error).toBe("All 2 segment(s) failed")
        const some = yield* registry.submit({
          total: 2,
          run: (p) =>
            Effect.zipRight(
              Jobs.instant(1).run(p),
              p.segmentFailed(new SegmentError({ segmentId: "s1", message: "x" }))
            )
        })
        const completed = yield* awaitStatus(some.id, "COMPLETED")
        expect(completed._tag === "COMPLETED" && [completed.completedSegments.length, completed.errors.length]).toEqual(
          [1, 1]
        )
      }).pipe(using())
    )

    it.effect("cancels a PENDING task before it starts and a PROCESSING one by interrupting it", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const interrupted = yield* Deferred.make<void>()
        const running = yield* registry.submit(Jobs.endless(interrupted))
        const waiting = yield* registry.submit(Jobs.instant())
        yield* awaitStatus(running.id, "PROCESSING")
        const cancelledWaiting = yield* registry.cancel(waiting.id)
        expect(cancelledWaiting._tag === "CANCELLED" && Option.isNone(cancelledWaiting.startedAt)).toBe(true)
        const cancelledRunning = yield* registry.cancel(running.id)
        expect(cancelledRunning._tag === "CANCELLED" && cancelledRunning.reason).toBe("Cancelled by request")
        expect(yield* Deferred.isDone(interrupted)).toBe(true)
        yield* settle
        expect((yield* registry.get(waiting.id))._tag).toBe("CANCELLED")
        expect(yield* Effect.flip(registry.cancel(running.id))).toBeInstanceOf(TaskAlreadyFinished)
        const unknown = TaskId.make("00000000-0000-4000-8000-000000000000")
        expect(yield* Effect.flip(registry.cancel(unknown))).toBeInstanceOf(TaskNotFound)
        expect(yield* Effect.flip(registry.get(unknown))).toBeInstanceOf(TaskNotFound)
      }).pipe(using())
    )

    it.effect("runs at most TASK_CONCURRENCY tasks at once", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const gate = yield* Deferred.make<void>()
        const tasks = yield* Effect.forEach([1, 2, 3, 4, 5], () => registry.submit(Jobs.gated(gate)))
        yield* settle
        expect(yield* registry.stats).toMatchObject({ pending: 3, processing: 2 })
        yield* Deferred.succeed(gate, undefined)
        for (const t of tasks) yield* awaitStatus(t.id, "COMPLETED")
      }).pipe(using({ TASK_CONCURRENCY: "2" }))
    )

    it.effect("refuses a submit with RegistryFull past TASK_MAX_PENDING, and accepts again once one ends", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const gate = yield* Deferred.make<void>()
        const [first] = yield* Effect.forEach([1, 2], () => registry.submit(Jobs.gated(gate)))
        const refused = yield* Effect.flip(registry.submit(Jobs.instant()))
        expect(refused).toEqual(new RegistryFull({ maxPending: 2 }))
        yield* registry.cancel(first!.id)
        yield* registry.submit(Jobs.instant())
      }).pipe(using({ TASK_MAX_PENDING: "2" }))
    )

    it.effect("lists live tasks newest first, by status and up to a limit", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const gate = yield* Deferred.make<void>()
        const ids = []
        for (let i = 0; i < 4; i++) {
          ids.push((yield* registry.submit(i === 0 ? Jobs.instant() : Jobs.gated(gate))).id)
          yield* settle
          yield* TestClock.adjust("1 second")
        }
        const all = yield* registry.list({})
        expect(all.map((t) => t.id)).toEqual([...ids].reverse())
        expect((yield* registry.list({ status: "PENDING" })).map((t) => t.id)).toEqual([ids[3], ids[2]])
        expect((yield* registry.list({ status: "COMPLETED" })).map((t) => t.id)).toEqual([ids[0]])
        expect((yield* registry.list({ limit: 1 })).map((t) => t.id)).toEqual([ids[3]])
      }).pipe(using())
    )
  })

  describe("bounded memory", () => {
    it.effect(
      "keeps records within the configured bounds over 100,000 submissions spread over hours",
      () =>
        Effect.gen(function* () {
          const registry = yield* TaskRegistry
          const checkpoints: Array<number> = []
          for (let i = 1; i <= 100_000; i++) {
            yield* registry.submit(Jobs.instant())
            if (i % 100 === 0) {
              yield* settle
              // 100 submissions a simulated minute: 100,000 of them span about 17 hours.
              yield* TestClock.adjust("1 minute")
            }
            if (i % 20_000 === 0) {
              const stats = yield* registry.stats
              checkpoints.push(stats.finished)
              expect(stats.finished).toBeLessThanOrEqual(1000)
              expect(stats.pending + stats.processing).toBeLessThanOrEqual(100)
              expect(stats.tombstones).toBeLessThanOrEqual(5000)
            }
          }
          // The cap is what binds at this rate, so the count holds steady at it rather than creeping up.
          expect(checkpoints).toEqual([1000, 1000, 1000, 1000, 1000])
        }).pipe(using({ TASK_MAX_RETAINED: "1000", TASK_TOMBSTONES: "5000", TASK_CLEANUP_INTERVAL: "600" })),
      60_000
    )
  })
}
