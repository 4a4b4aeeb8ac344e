import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Schema } from "effect"
import * as TaskKind from "../../../src/domain/TaskKind.js"
import {
  RegistryBusy,
  RegistryFull,
  TaskAlreadyFinished,
  TaskNotFound,
  TaskTooLarge
} from "../../../src/domain/Errors.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import type { RegistryHarness } from "../registry.js"
import { awaitStatus, eventually } from "../registry.js"
import * as Jobs from "../script.js"
import { Gates, newGate, submit } from "../script.js"

/** Task lifecycle behaviour that every `TaskRegistry` implementation must show. */
export const lifecycleSuite = ({ advance, layer: makeLayer }: RegistryHarness) => {
  const using = (env: Record<string, string> = {}) => Effect.provide(makeLayer(env))

  describe("task lifecycle", () => {
    it.effect("runs a job to COMPLETED with its progress and times", () =>
      Effect.gen(function* () {
        yield* advance("5 seconds")
        const submitted = yield* submit(Jobs.sleeping("2 seconds", 3))
        expect(submitted._tag).toBe("PENDING")
        yield* awaitStatus(submitted.id, "PROCESSING")
        yield* advance("2 seconds")
        const done = yield* awaitStatus(submitted.id, "COMPLETED")
        expect(done).toMatchObject({ createdAt: 5000, startedAt: 5000, completedAt: 7000, total: 3, errors: [] })
        expect(done._tag === "COMPLETED" && done.completedSegments.map((s) => s.segmentId)).toEqual(["s0", "s1", "s2"])
      }).pipe(using())
    )

    it.effect("ends FAILED with the job's message when it fails, keeping what it did", () =>
      Effect.gen(function* () {
        const task = yield* submit(Jobs.failing("disk full"))
        const ended = yield* awaitStatus(task.id, "FAILED")
        expect(ended._tag === "FAILED" && ended.error).toBe("Task failed: disk full")
        expect(ended._tag === "FAILED" && ended.completedSegments.length).toBe(1)
      }).pipe(using())
    )

    it.effect("ends FAILED when the job dies with a defect", () =>
      Effect.gen(function* () {
        const task = yield* submit(Jobs.dying("boom"))
        const ended = yield* awaitStatus(task.id, "FAILED")
        expect(ended._tag === "FAILED" && ended.error).toBe("Task died unexpectedly: boom")
      }).pipe(using())
    )

    it.effect("ends CANCELLED with a reason when the job is interrupted", () =>
      Effect.gen(function* () {
        const task = yield* submit(Jobs.selfInterrupting)
        const ended = yield* awaitStatus(task.id, "CANCELLED")
        expect(ended._tag === "CANCELLED" && ended.reason).toMatch(/Interrupted/)
      }).pipe(using())
    )

    it.effect("ends FAILED when every segment failed, COMPLETED with errors when only some did", () =>
      Effect.gen(function* () {
        const all = yield* submit(Jobs.allSegmentsFail(2))
        const failed = yield* awaitStatus(all.id, "FAILED")
        expect(failed._tag === "FAILED" && failed.error).toBe("All 2 segment(s) failed")
        const some = yield* submit({
          total: 2,
          steps: [
            { _tag: "Done", count: 1 },
            { _tag: "SegmentFailed", count: 1 }
          ]
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
        const gates = yield* Gates
        const [interrupted, ran] = [newGate("interrupted"), newGate("ran")]
        const running = yield* submit(Jobs.endless(interrupted))
        const waiting = yield* submit({ total: 1, steps: [{ _tag: "Open", gate: ran }] })
        yield* awaitStatus(running.id, "PROCESSING")
        const cancelledWaiting = yield* registry.cancel(waiting.id)
        expect(cancelledWaiting._tag === "CANCELLED" && Option.isNone(cancelledWaiting.startedAt)).toBe(true)
        const cancelledRunning = yield* registry.cancel(running.id)
        expect(cancelledRunning._tag === "CANCELLED" && cancelledRunning.reason).toBe("Cancelled by request")
        // The record is final at once; the worker hears of it and interrupts the handler.
        yield* gates.await(interrupted)
        // The worker, free again, runs what comes next, never the cancelled PENDING task.
        yield* awaitStatus((yield* submit(Jobs.instant())).id, "COMPLETED")
        expect(yield* gates.isOpen(ran)).toBe(false)
        expect((yield* registry.get(waiting.id))._tag).toBe("CANCELLED")
        expect(yield* Effect.flip(registry.cancel(running.id))).toBeInstanceOf(TaskAlreadyFinished)
        const unknown = TaskId.make("00000000-0000-4000-8000-000000000000")
        expect(yield* Effect.flip(registry.cancel(unknown))).toBeInstanceOf(TaskNotFound)
        expect(yield* Effect.flip(registry.get(unknown))).toBeInstanceOf(TaskNotFound)
      }).pipe(using())
    )

    it.effect("refuses a kind whose total or weight is not a whole number, with InvalidPayload", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const broken = (count: number) =>
          TaskKind.make({ name: "test.broken", payload: Schema.Struct({}), total: () => 1, weight: () => count })
        for (const count of [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY]) {
          const refused = yield* Effect.flip(registry.submit(broken(count), {}))
          expect(refused).toMatchObject({ _tag: "InvalidPayload", kind: "test.broken" })
          expect(refused.message).toContain("weight")
        }
        // Nothing was taken: the full limit is still there for a valid task.
        yield* awaitStatus((yield* submit(Jobs.instant(5))).id, "COMPLETED")
      }).pipe(using({ TASK_MAX_PENDING_WORK: "5" }))
    )

    it.effect("runs at most TASK_CONCURRENCY tasks at once", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const gate = newGate()
        const tasks = yield* Effect.forEach([1, 2, 3, 4, 5], () => submit(Jobs.gated(gate)))
        yield* eventually(registry.stats, (s) => s.processing === 2)
        expect(yield* registry.stats).toMatchObject({ pending: 3, processing: 2 })
        yield* (yield* Gates).open(gate)
        for (const t of tasks) yield* awaitStatus(t.id, "COMPLETED")
      }).pipe(using({ TASK_CONCURRENCY: "2" }))
    )

    it.effect("refuses a submit with RegistryFull past TASK_MAX_PENDING, and accepts again once one ends", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const gate = newGate()
        const [first] = yield* Effect.forEach([1, 2], () => submit(Jobs.gated(gate)))
        const refused = yield* Effect.flip(submit(Jobs.instant()))
        expect(refused).toEqual(new RegistryFull({ maxPending: 2 }))
        yield* registry.cancel(first!.id)
        yield* submit(Jobs.instant())
      }).pipe(using({ TASK_MAX_PENDING: "2" }))
    )

    it.effect("admits by work too: RegistryBusy past TASK_MAX_PENDING_WORK, TaskTooLarge for a task over it", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const gate = newGate()
        const first = yield* submit(Jobs.gated(gate, 3))
        const busy = yield* Effect.flip(submit(Jobs.instant(3)))
        expect(busy).toEqual(new RegistryBusy({ weight: 3, pendingWeight: 3, maxPendingWeight: 5 }))
        expect(busy.message).toContain("retry later")
        expect(yield* Effect.flip(submit(Jobs.instant(6)))).toEqual(
          new TaskTooLarge({ weight: 6, maxPendingWeight: 5 })
        )
        // Smaller tasks still fit beside the first.
        yield* submit(Jobs.instant(2)).pipe(Effect.flatMap((t) => registry.cancel(t.id)))
        yield* (yield* Gates).open(gate)
        yield* awaitStatus(first.id, "COMPLETED")
        yield* awaitStatus((yield* submit(Jobs.instant(5))).id, "COMPLETED")
      }).pipe(using({ TASK_MAX_PENDING_WORK: "5" }))
    )

    it.effect("lists live tasks newest first, by status and up to a limit", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const gate = newGate()
        const ids = []
        for (let i = 0; i < 4; i++) {
          const task = yield* submit(i === 0 ? Jobs.instant() : Jobs.gated(gate))
          ids.push(task.id)
          yield* awaitStatus(task.id, i === 0 ? "COMPLETED" : i === 1 ? "PROCESSING" : "PENDING")
          yield* advance("1 second")
        }
        const all = yield* registry.list({})
        expect(all.map((t) => t.id)).toEqual([...ids].reverse())
        expect((yield* registry.list({ status: "PENDING" })).map((t) => t.id)).toEqual([ids[3], ids[2]])
        expect((yield* registry.list({ status: "COMPLETED" })).map((t) => t.id)).toEqual([ids[0]])
        expect((yield* registry.list({ limit: 1 })).map((t) => t.id)).toEqual([ids[3]])
      }).pipe(using())
    )

    it.effect("lists tasks created in the same millisecond in one order, whatever the limit", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        for (let i = 0; i < 6; i++) yield* submit(Jobs.instant())
        const all = (yield* registry.list({})).map((t) => t.id)
        expect(all).toHaveLength(6)
        for (const limit of [1, 2, 3, 5]) {
          expect((yield* registry.list({ limit })).map((t) => t.id)).toEqual(all.slice(0, limit))
          expect((yield* registry.list({ status: "PENDING", limit })).map((t) => t.id)).toEqual(all.slice(0, limit))
        }
      }).pipe(using({ TASK_CONCURRENCY: "0" }))
    )
  })
}
