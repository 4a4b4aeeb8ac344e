import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Layer, Option, Schema, Stream, TestClock } from "effect"
import type { ProgressReport } from "../../../src/domain/Outcome.js"
import { CompletedSegment } from "../../../src/domain/Task.js"
import * as TaskKind from "../../../src/domain/TaskKind.js"
import * as TaskRegistryMemory from "../../../src/layers/registry/TaskRegistryMemory.js"
import * as RegistryConfig from "../../../src/services/RegistryConfig.js"
import { TaskQueue } from "../../../src/services/TaskQueue.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import { logCapture } from "../../support/logs.js"
import { eventually, memoryHarness } from "../../support/registry.js"
import { registrySuite } from "../../support/registrySuite.js"
import * as Jobs from "../../support/script.js"
import { submit } from "../../support/script.js"

registrySuite("TaskRegistryMemory", memoryHarness)

describe("TaskRegistryMemory, in-memory specifics", () => {
  const using = (env: Record<string, string>) => Effect.provide(memoryHarness.layer(env))

  // What lets HTTP answer polls and open event streams ahead of the platform (src/http/transport/Polling.ts).
  it.effect("says that it reads in process, with no round trip", () =>
    Effect.map(TaskRegistry, (registry) => expect(registry.readsInProcess).toBe(true)).pipe(using({}))
  )

  describe("bounded memory", () => {
    // Ten seconds of submissions, which would run again for each mutant of the store: `npm run mutate` leaves it out
    // (the eviction suite covers the same rules on a few tasks).
    it.effect.skipIf(process.env.STORYFLOW_MUTATION_RUN === "1")(
      "keeps records within the configured bounds over 12,000 submissions spread over hours",
      () =>
        Effect.gen(function* () {
          const registry = yield* TaskRegistry
          const checkpoints: Array<number> = []
          for (let i = 1; i <= 12_000; i++) {
            yield* submit(Jobs.instant())
            if (i % 100 === 0) {
              yield* eventually(registry.stats, (s) => s.pending + s.processing === 0)
              // 100 submissions a simulated minute: 12,000 of them span 2 hours, twice the threshold.
              // (The benchmark runs 1,000,000; this keeps the suite quick.)
              yield* memoryHarness.advance("1 minute")
            }
            if (i % 2_400 === 0) {
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
      120_000
    )
  })

  describe("its queue, with no workers", () => {
    /** A kind of one segment. */
    const Kind = TaskKind.make({ name: "k", payload: Schema.Struct({}), total: () => 1 })
    const segment = (i: number) =>
      new CompletedSegment({ segmentId: `s${i}`, audioUrl: `/a/s${i}.wav`, durationSeconds: 1 })
    const done = (i: number): ProgressReport => ({ _tag: "SegmentDone", segment: segment(i) })
    /** The store alone, without its sweep fiber. */
    const store = TaskRegistryMemory.layer.pipe(
      Layer.provideMerge(RegistryConfig.layer({ cleanupInterval: Duration.zero }))
    )
    /** A task of `Kind` submitted and claimed. */
    const claimedTask = Effect.gen(function* () {
      const registry = yield* TaskRegistry
      const queue = yield* TaskQueue
      yield* registry.submit(Kind, {})
      const claim = Option.getOrThrow(yield* queue.claim(["k"], "token-1"))
      return { registry, queue, claim }
    })

    it.effect("refuses, as a defect, a report not numbered from 1 in whole numbers, changing nothing", () =>
      Effect.gen(function* () {
        const { claim, queue, registry } = yield* claimedTask
        for (const n of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
          const exit = yield* Effect.exit(queue.report(claim, n, done(1)))
          const defect = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined
          expect(defect).toMatchObject({ message: `A report is numbered from 1 under its claim, not ${n}` })
        }
        expect(yield* registry.get(claim.id)).toEqual(claim)
      }).pipe(Effect.provide(store))
    )

    it.effect(
      "applies a report retried under its number once, and ignores one its task cannot take, saying why",
      () => {
        const { layer, lines } = logCapture()
        return Effect.gen(function* () {
          const { claim, queue, registry } = yield* claimedTask
          yield* queue.report(claim, 1, done(1))
          yield* queue.report(claim, 1, done(1))
          const once = yield* registry.get(claim.id)
          expect(once).toMatchObject({ completedSegments: [segment(1)], version: claim.version + 1 })
          // Its one segment is recorded: a second one cannot be, and is ignored without failing the worker.
          yield* queue.report(claim, 2, done(2))
          expect(yield* registry.get(claim.id)).toEqual(once)
          expect(lines.filter((l) => l.level === "WARN").map((l) => [l.message, l.annotations])).toEqual([
            ["Ignored a progress report: cannot record a segment of a PROCESSING task", { taskId: claim.id }]
          ])
          yield* queue.finish(claim, { _tag: "Succeeded" })
          expect(yield* registry.get(claim.id)).toMatchObject({
            _tag: "COMPLETED",
            completedSegments: [segment(1)]
          })
        }).pipe(Effect.provide(store), Effect.provide(layer))
      }
    )

    it.effect("publishes every change and eviction as made here", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const heard = yield* registry.events.pipe(Stream.take(4), Stream.runCollect, Effect.fork)
        yield* Effect.repeatN(Effect.yieldNow(), 20)
        const { claim, queue } = yield* claimedTask
        yield* queue.finish(claim, { _tag: "Succeeded" })
        yield* TestClock.adjust("2 hours")
        expect(yield* registry.sweep).toBe(1)
        const events = [...(yield* heard.await.pipe(Effect.flatten))]
        expect(
          events.map((e) =>
            e._tag === "Changed" ? [e.task._tag, e.here] : e._tag === "Evicted" ? [e.cause, e.here] : [e._tag]
          )
        ).toEqual([
          ["PENDING", true],
          ["PROCESSING", true],
          ["COMPLETED", true],
          ["age", true]
        ])
      }).pipe(Effect.provide(store))
    )
  })
})
