import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import type { ProgressReport } from "../../../src/domain/Outcome.js"
import * as Task from "../../../src/domain/Task.js"
import { ClaimLost, TaskQueue } from "../../../src/services/TaskQueue.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import type { RegistryHarness } from "../registry.js"
import { awaitStatus, eventually } from "../registry.js"
import * as Jobs from "../script.js"
import { parallelSegment, Script, submit } from "../script.js"

const done = (i: number): ProgressReport => ({
  _tag: "SegmentDone",
  segment: new Task.CompletedSegment({ segmentId: `s${i}`, audioUrl: `/audio/t/s${i}.wav`, durationSeconds: 1 })
})

/** Segment ids of a record, in the order it holds them. */
const segmentIds = (task: Task.Task) => (task._tag === "PENDING" ? [] : task.completedSegments.map((s) => s.segmentId))

/**
 * What workers rely on from a store's queue: every report kept however many fibers make them, nothing accepted
 * under a claim token that is not the task's current one, and calls that are safe to retry (a claim by its token,
 * a report by its number).
 */
export const claimsSuite = (harness: RegistryHarness) => {
  const using = (env: Record<string, string> = {}) => Effect.provide(harness.layer(env))

  /** Submits a task and claims it under a fresh token, with no worker of the store's own. */
  const claimed = (payload: Jobs.ScriptPayload) =>
    Effect.gen(function* () {
      const queue = yield* TaskQueue
      const task = yield* submit(payload)
      const claim = Option.getOrThrow(yield* queue.claim([Script.name], crypto.randomUUID()))
      expect(claim.id).toBe(task.id)
      return claim
    })

  describe("parallel reports", () => {
    it.effect("keeps every segment a handler reports from parallel fibers", () =>
      Effect.gen(function* () {
        const task = yield* submit(Jobs.parallel(8, 1))
        const ended = yield* awaitStatus(task.id, "COMPLETED")
        expect(segmentIds(ended).sort()).toEqual(Array.from({ length: 8 }, (_, f) => `p${f}-0`).sort())
      }).pipe(using())
    )

    it.effect("keeps all 200 reports of 10 fibers × 20, each one version", () =>
      Effect.gen(function* () {
        const task = yield* submit(Jobs.parallel(10, 20))
        const ended = yield* awaitStatus(task.id, "COMPLETED")
        const expected = Array.from({ length: 10 }, (_, f) =>
          Array.from({ length: 20 }, (_, i) => parallelSegment(f, i).segmentId)
        ).flat()
        expect(segmentIds(ended).sort()).toEqual(expected.sort())
        // Each fiber's reports are kept in the order it made them.
        for (let f = 0; f < 10; f++) {
          const own = segmentIds(ended).filter((id) => id.startsWith(`p${f}-`))
          expect(own).toEqual(Array.from({ length: 20 }, (_, i) => `p${f}-${i}`))
        }
        // Submitted, claimed, 200 reports, completed.
        expect(ended.version).toBe(203)
      }).pipe(using())
    )
  })

  describe("stale claims", () => {
    it.effect(
      "refuses a report and a finish under a token that is not the task's current claim, changing nothing",
      () =>
        Effect.gen(function* () {
          const registry = yield* TaskRegistry
          const queue = yield* TaskQueue
          const claim = yield* claimed(Jobs.instant(3))
          yield* queue.report(claim, 1, done(0))
          // The same task, as a claim under another token would hold it (one taken back and claimed again).
          const { createdAt, id, kind, payload, total, weight } = claim
          const pending = Task.pending({ id, kind, payload, total, weight, createdAt })
          const other = Either.getOrThrow(Task.start(claim.startedAt, crypto.randomUUID())(pending))
          const before = yield* registry.get(claim.id)
          expect(yield* Effect.flip(queue.report(other, 2, done(1)))).toEqual(new ClaimLost({ taskId: claim.id }))
          expect(yield* Effect.flip(queue.report(other, 1, done(1)))).toEqual(new ClaimLost({ taskId: claim.id }))
          expect(yield* Effect.flip(queue.finish(other, { _tag: "Succeeded" }))).toEqual(
            new ClaimLost({ taskId: claim.id })
          )
          expect(yield* Effect.flip(queue.finish(other, { _tag: "Failed", message: "x" }))).toEqual(
            new ClaimLost({ taskId: claim.id })
          )
          expect(yield* registry.get(claim.id)).toEqual(before)
          // The current claim still holds.
          yield* queue.report(claim, 2, done(1))
          yield* queue.finish(claim, { _tag: "Succeeded" })
          expect(yield* registry.get(claim.id)).toMatchObject({ _tag: "COMPLETED", version: 5 })
          expect(segmentIds(yield* registry.get(claim.id))).toEqual(["s0", "s1"])
        }).pipe(using({ TASK_CONCURRENCY: "0" }))
    )

    it.effect("refuses a report and a finish under the claim of a task since cancelled, changing nothing", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const queue = yield* TaskQueue
        const claim = yield* claimed(Jobs.instant(3))
        yield* queue.report(claim, 1, done(0))
        yield* registry.cancel(claim.id)
        const before = yield* registry.get(claim.id)
        expect(yield* Effect.flip(queue.report(claim, 2, done(1)))).toEqual(new ClaimLost({ taskId: claim.id }))
        expect(yield* Effect.flip(queue.finish(claim, { _tag: "Succeeded" }))).toEqual(
          new ClaimLost({ taskId: claim.id })
        )
        expect(yield* registry.get(claim.id)).toEqual(before)
        expect(before).toMatchObject({ _tag: "CANCELLED", version: 4 })
      }).pipe(using({ TASK_CONCURRENCY: "0" }))
    )
  })

  describe("retried calls", () => {
    it.effect("a claim retried with its token answers the same task, at no further attempt", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const queue = yield* TaskQueue
        const first = yield* submit(Jobs.instant())
        yield* harness.advance("1 millis")
        const second = yield* submit(Jobs.instant())
        const token = crypto.randomUUID()
        const claim = Option.getOrThrow(yield* queue.claim([Script.name], token))
        const again = Option.getOrThrow(yield* queue.claim([Script.name], token))
        expect(again).toEqual(claim)
        expect(again).toMatchObject({ id: first.id, attempts: 1, version: 2, claim: token })
        expect(yield* registry.get(first.id)).toEqual(claim)
        expect(yield* eventually(registry.stats, () => true)).toMatchObject({ pending: 1, processing: 1 })
        // Another token claims the next task.
        const next = Option.getOrThrow(yield* queue.claim([Script.name], crypto.randomUUID()))
        expect(next.id).toBe(second.id)
      }).pipe(using({ TASK_CONCURRENCY: "0" }))
    )

    it.effect("a report retried with its number is applied once, in whatever order the reports arrive", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const queue = yield* TaskQueue
        const claim = yield* claimed(Jobs.instant(3))
        yield* queue.report(claim, 1, done(0))
        yield* queue.report(claim, 1, done(0))
        expect(yield* registry.get(claim.id)).toMatchObject({ version: 3 })
        // Report 3 arrives before report 2 (made by parallel fibers); retries of both change nothing more.
        yield* queue.report(claim, 3, done(2))
        yield* queue.report(claim, 2, done(1))
        yield* queue.report(claim, 3, done(2))
        yield* queue.report(claim, 2, done(1))
        yield* queue.report(claim, 1, done(0))
        const record = yield* registry.get(claim.id)
        expect(record).toMatchObject({ _tag: "PROCESSING", version: 5 })
        expect(segmentIds(record)).toEqual(["s0", "s2", "s1"])
        yield* queue.finish(claim, { _tag: "Succeeded" })
        expect(yield* registry.get(claim.id)).toMatchObject({ _tag: "COMPLETED", version: 6 })
      }).pipe(using({ TASK_CONCURRENCY: "0" }))
    )
  })
}
