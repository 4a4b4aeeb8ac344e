import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Option, Stream } from "effect"
import { TaskExpired, TaskNotFound } from "../../../src/domain/Errors.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import { ClaimLost, TaskQueue } from "../../../src/services/TaskQueue.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import type { RegistryHarness } from "../registry.js"
import { awaitStatus, eventually } from "../registry.js"
import * as Jobs from "../script.js"
import { Gates, newGate, Script, submit } from "../script.js"

/** Versions, `watch`, and the workers' side of the store (claims). */
export const watchSuite = (harness: RegistryHarness) => {
  const using = (env: Record<string, string> = {}) => Effect.provide(harness.layer(env))

  describe("versions and watch", () => {
    it.effect("gives every record a version that grows by one per change", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const submitted = yield* submit(Jobs.instant(3))
        expect(submitted.version).toBe(1)
        const done = yield* awaitStatus(submitted.id, "COMPLETED")
        // Submitted, claimed, three segments, completed.
        expect(done.version).toBe(6)
        expect((yield* registry.get(submitted.id)).version).toBe(6)
      }).pipe(using())
    )

    it.effect("watches a task: the current snapshot, then one per change, ending after the terminal state", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const gate = newGate()
        const task = yield* submit(Jobs.gated(gate, 2))
        const running = yield* awaitStatus(task.id, "PROCESSING")
        const watching = yield* registry.watch(task.id).pipe(Stream.runCollect, Effect.fork)
        yield* (yield* Gates).open(gate)
        const snapshots = Chunk.toReadonlyArray(yield* Fiber.join(watching))
        expect(snapshots[0]!.version).toBeGreaterThanOrEqual(running.version)
        expect(snapshots.map((t) => t.version - snapshots[0]!.version)).toEqual(snapshots.map((_, i) => i))
        expect(snapshots.at(-1)).toMatchObject({ _tag: "COMPLETED", version: running.version + 3 })
        expect(snapshots.slice(0, -1).every((t) => t._tag === "PROCESSING")).toBe(true)
      }).pipe(using())
    )

    it.effect("watches a finished task as its one snapshot; fails like get for unknown and expired ids", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const task = yield* submit(Jobs.instant())
        const done = yield* awaitStatus(task.id, "COMPLETED")
        expect(Chunk.toReadonlyArray(yield* Stream.runCollect(registry.watch(task.id)))).toEqual([done])
        const unknown = TaskId.make("00000000-0000-4000-8000-000000000000")
        expect(yield* Effect.flip(Stream.runDrain(registry.watch(unknown)))).toBeInstanceOf(TaskNotFound)
        yield* harness.advance("61 seconds")
        expect(yield* Effect.flip(Stream.runDrain(registry.watch(task.id)))).toBeInstanceOf(TaskExpired)
      }).pipe(using({ TASK_CLEANUP_THRESHOLD: "60", TASK_CLEANUP_INTERVAL: "0" }))
    )
    it.effect("streams every change and every eviction, with its cause, in the order the store made them", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const heard = yield* registry.events.pipe(
          Stream.takeUntil((e) => e._tag === "Evicted" && e.cause === "age"),
          Stream.take(20),
          Stream.runCollect,
          Effect.fork
        )
        yield* Effect.repeatN(Effect.yieldNow(), 20)
        const first = yield* submit(Jobs.instant())
        yield* awaitStatus(first.id, "COMPLETED")
        yield* harness.advance("1 millis")
        const second = yield* submit(Jobs.instant())
        yield* awaitStatus(second.id, "COMPLETED")
        yield* harness.advance("61 seconds")
        expect(yield* registry.sweep).toBe(1)
        const events = Chunk.toReadonlyArray(yield* Fiber.join(heard))
        const summary = events.map((e) =>
          e._tag === "Changed"
            ? `${e.task.id === first.id ? "first" : "second"} ${e.task._tag} v${e.task.version}`
            : e._tag === "Evicted"
              ? `${e.tombstone.id === first.id ? "first" : "second"} evicted (${e.cause}) ${e.tombstone.status}`
              : "missed"
        )
        expect(summary).toEqual([
          "first PENDING v1",
          "first PROCESSING v2",
          "first PROCESSING v3",
          "first COMPLETED v4",
          "second PENDING v1",
          "second PROCESSING v2",
          "second PROCESSING v3",
          "second COMPLETED v4",
          "first evicted (cap) COMPLETED",
          "second evicted (age) COMPLETED"
        ])
      }).pipe(using({ TASK_CLEANUP_THRESHOLD: "60", TASK_CLEANUP_INTERVAL: "0", TASK_MAX_RETAINED: "1" }))
    )
  })

  describe("workers and claims", () => {
    it.effect("with TASK_CONCURRENCY=0 runs nothing: tasks wait for a process that has workers", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const task = yield* submit(Jobs.instant())
        yield* harness.advance("1 minute")
        expect((yield* registry.get(task.id))._tag).toBe("PENDING")
        expect(yield* registry.stats).toMatchObject({ pending: 1, processing: 0 })
      }).pipe(using({ TASK_CONCURRENCY: "0" }))
    )

    it.effect("claims the oldest PENDING task of a handled kind, and refuses reports against a lost claim", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const queue = yield* TaskQueue
        const first = yield* submit(Jobs.instant(2))
        yield* harness.advance("1 millis")
        yield* submit(Jobs.instant(2))
        expect(yield* queue.claim(["another.kind"], crypto.randomUUID())).toEqual(Option.none())
        const claim = Option.getOrThrow(yield* queue.claim([Script.name], crypto.randomUUID()))
        expect(claim).toMatchObject({ id: first.id, _tag: "PROCESSING", attempts: 1 })
        yield* queue.report(claim, 1, { _tag: "SegmentFailed", error: { segmentId: "s0", message: "x" } })
        expect((yield* registry.get(first.id)).version).toBe(3)
        const lost = yield* Deferred.make<void>()
        yield* queue.onLost(claim, Deferred.succeed(lost, undefined))
        expect(yield* Deferred.isDone(lost)).toBe(false)
        yield* registry.cancel(first.id)
        yield* Deferred.await(lost)
        // Asked after the claim was lost, it says so at once.
        const late = yield* Deferred.make<void>()
        yield* queue.onLost(claim, Deferred.succeed(late, undefined))
        expect(yield* Deferred.isDone(late)).toBe(true)
        const refused = yield* Effect.flip(
          queue.report(claim, 2, { _tag: "SegmentFailed", error: { segmentId: "s1", message: "x" } })
        )
        expect(refused).toBeInstanceOf(ClaimLost)
        expect(yield* Effect.flip(queue.finish(claim, { _tag: "Succeeded" }))).toBeInstanceOf(ClaimLost)
        expect(yield* registry.get(first.id)).toMatchObject({ _tag: "CANCELLED", errors: [{ segmentId: "s0" }] })
        expect(yield* eventually(registry.stats, () => true)).toMatchObject({ pending: 1, processing: 0 })
      }).pipe(Effect.scoped, using({ TASK_CONCURRENCY: "0" }))
    )
  })
}
