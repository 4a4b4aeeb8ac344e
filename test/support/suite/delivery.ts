import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Layer, Stream } from "effect"
import type { RegistryEvent } from "../../../src/services/TaskRegistry.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import type { RegistryHarness } from "../registry.js"
import { awaitStatus } from "../registry.js"
import * as Jobs from "../script.js"
import { submit } from "../script.js"

const idOf = (event: RegistryEvent) => (event._tag === "Missed" ? "missed" : event.id)

/** No silent loss: bounded buffers per reader, Missed for one that falls behind, order, and resuming `events`. */
export const deliverySuite = (harness: RegistryHarness) => {
  const using = (env: Record<string, string> = {}) => Effect.provide(harness.layer(env))
  const many = { TASK_CONCURRENCY: "0", TASK_MAX_PENDING: "10000", TASK_MAX_PENDING_WORK: "100000" }

  describe("delivery", () => {
    it.effect("a reader stalled while 6,000 tasks are submitted gets Missed and ends; another reader gets all", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const release = yield* Deferred.make<void>()
        const stalled = yield* registry.events.pipe(
          Stream.tap(() => Deferred.await(release)),
          Stream.runCollect,
          Effect.fork
        )
        const reading = yield* registry.events.pipe(Stream.take(6000), Stream.runCollect, Effect.fork)
        yield* Effect.repeatN(Effect.yieldNow(), 20)
        yield* Effect.forEach(Array.from({ length: 6000 }), () => submit(Jobs.instant()), { concurrency: 20 })
        const read = Chunk.toReadonlyArray(yield* Fiber.join(reading))
        expect(read.filter((e) => e._tag === "Changed")).toHaveLength(6000)
        yield* Deferred.succeed(release, undefined)
        const got = Chunk.toReadonlyArray(yield* Fiber.join(stalled))
        expect(got.at(-1)).toEqual({ _tag: "Missed" })
        expect(got.length).toBeLessThan(6000)
        // What it was given before it fell behind is what the other reader got first, none skipped.
        expect(got.slice(0, -1).map(idOf)).toEqual(read.slice(0, got.length - 1).map(idOf))
      }).pipe(using(many))
    )

    it.effect("readers get a task's changes in version order when its reports come from parallel fibers", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const heard = yield* registry.events.pipe(
          Stream.filter((e) => e._tag === "Changed"),
          Stream.takeUntil((e) => e._tag === "Changed" && e.task._tag === "COMPLETED"),
          Stream.runCollect,
          Effect.fork
        )
        yield* Effect.repeatN(Effect.yieldNow(), 20)
        const task = yield* submit(Jobs.parallel(10, 20))
        const watching = yield* registry.watch(task.id).pipe(Stream.runCollect, Effect.fork)
        yield* awaitStatus(task.id, "COMPLETED")
        const versions = Chunk.toReadonlyArray(yield* Fiber.join(heard)).flatMap((e) =>
          e._tag === "Changed" && e.task.id === task.id ? [e.task.version] : []
        )
        expect(versions).toEqual(versions.map((_, i) => i + 1))
        const watched = Chunk.toReadonlyArray(yield* Fiber.join(watching)).map((t) => t.version)
        expect(watched).toEqual([...watched].sort((a, b) => a - b))
        expect(watched.at(-1)).toBe(versions.at(-1))
      }).pipe(using({ TASK_CONCURRENCY: "1" }))
    )

    it.effect("a watcher stalled through more changes than its buffer still ends with the terminal snapshot", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const gate = Jobs.newGate()
        const task = yield* submit(Jobs.gated(gate, 1))
        const running = yield* awaitStatus(task.id, "PROCESSING")
        const release = yield* Deferred.make<void>()
        const watching = yield* registry.watch(task.id).pipe(
          Stream.tap(() => Deferred.await(release)),
          Stream.runCollect,
          Effect.fork
        )
        yield* Effect.repeatN(Effect.yieldNow(), 20)
        const parallel = yield* submit(Jobs.parallel(10, 20))
        yield* awaitStatus(parallel.id, "COMPLETED").pipe(Effect.ignore)
        yield* (yield* Jobs.Gates).open(gate)
        yield* awaitStatus(task.id, "COMPLETED")
        yield* Deferred.succeed(release, undefined)
        const snapshots = Chunk.toReadonlyArray(yield* Fiber.join(watching))
        expect(snapshots[0]!.version).toBeGreaterThanOrEqual(running.version)
        expect(snapshots.at(-1)!._tag).toBe("COMPLETED")
      }).pipe(using({ TASK_CONCURRENCY: "2" }))
    )

    it.effect("resumes after an event's id with the events after it; an id it does not hold gets Missed first", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const heard = yield* registry.events.pipe(Stream.take(3), Stream.runCollect, Effect.fork)
        yield* Effect.repeatN(Effect.yieldNow(), 20)
        const tasks = yield* Effect.forEach([1, 2, 3], () => submit(Jobs.instant()))
        const events = Chunk.toReadonlyArray(yield* Fiber.join(heard))
        expect(events.map((e) => (e._tag === "Changed" ? e.task.id : ""))).toEqual(tasks.map((t) => t.id))
        const ids = events.map(idOf)
        expect(new Set(ids).size).toBe(3)
        const resumed = yield* registry.eventsAfter(ids[0]!).pipe(Stream.take(2), Stream.runCollect)
        expect(Chunk.toReadonlyArray(resumed).map(idOf)).toEqual(ids.slice(1))
        // Resumed from the last id, it goes on with what comes next.
        const next = yield* registry.eventsAfter(ids[2]!).pipe(Stream.take(1), Stream.runCollect, Effect.fork)
        yield* Effect.repeatN(Effect.yieldNow(), 20)
        const fourth = yield* submit(Jobs.instant())
        const [after] = Chunk.toReadonlyArray(yield* Fiber.join(next))
        expect(after).toMatchObject({ _tag: "Changed", task: { id: fourth.id } })
        for (const unknown of ["e0-1", "1-0", "nonsense", ""]) {
          const first = yield* registry.eventsAfter(unknown).pipe(Stream.take(1), Stream.runCollect)
          expect(Chunk.toReadonlyArray(first)).toEqual([{ _tag: "Missed" }])
        }
      }).pipe(using({ TASK_CONCURRENCY: "0" }))
    )

    if (harness.shared !== undefined) {
      const shared = harness.shared
      it.scoped("a reader resumes on another process sharing the store", () =>
        Effect.gen(function* () {
          const env = { ...(yield* shared), TASK_CONCURRENCY: "0" }
          const one = yield* Layer.build(harness.layer(env))
          const other = yield* Layer.build(harness.layer(env))
          const [events, tasks] = yield* Effect.gen(function* () {
            const registry = yield* TaskRegistry
            const heard = yield* registry.events.pipe(Stream.take(3), Stream.runCollect, Effect.fork)
            yield* Effect.repeatN(Effect.yieldNow(), 20)
            const tasks = yield* Effect.forEach([1, 2, 3], () => submit(Jobs.instant()))
            return [Chunk.toReadonlyArray(yield* Fiber.join(heard)), tasks] as const
          }).pipe(Effect.provide(one))
          const resumed = yield* Effect.flatMap(TaskRegistry, (registry) =>
            registry.eventsAfter(idOf(events[0]!)).pipe(Stream.take(2), Stream.runCollect)
          ).pipe(Effect.provide(other))
          expect(Chunk.toReadonlyArray(resumed).map((e) => (e._tag === "Changed" ? e.task.id : ""))).toEqual(
            tasks.slice(1).map((t) => t.id)
          )
          expect(Chunk.toReadonlyArray(resumed).map(idOf)).toEqual(events.slice(1).map(idOf))
        })
      )
    }
  })
}
