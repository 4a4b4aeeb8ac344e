import { describe, expect, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Clock,
  Effect,
  Exit,
  Fiber,
  Layer,
  Option,
  Schedule,
  Scope,
  Stream,
  TestClock,
  TestServices
} from "effect"
import { createClient } from "@redis/client"
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { EVICTION_LIMIT } from "../../../src/layers/redis/Scripts.js"
import { WORKER_LOST } from "../../../src/layers/redis/TaskRegistryRedis.js"
import * as Task from "../../../src/domain/Task.js"
import { TaskQueue } from "../../../src/services/TaskQueue.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import { logCapture } from "../../support/logs.js"
import { freePort } from "../../support/net.js"
import { redisHarness, redisRegistry, requireRedis, sharedPrefix } from "../../support/redis.js"
import { awaitStatus, eventually, within } from "../../support/registry.js"
import * as Jobs from "../../support/script.js"
import { Gates, newGate, Script, submit } from "../../support/script.js"

/** Builds a registry on the shared prefix in a scope of its own: a process that can be stopped. */
const process_ = (env: Record<string, string>) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(redisRegistry(env), scope)
    return { context, stop: Scope.close(scope, Exit.void) }
  })

/** A clock `offsetMs` ahead of real time (behind when negative), as a process whose clock is wrong would keep. */
const skewedClock = (offsetMs: number): Clock.Clock => {
  const real = Clock.make()
  const millis = () => real.unsafeCurrentTimeMillis() + offsetMs
  const nanos = () => BigInt(millis()) * 1_000_000n
  return Object.create(real, {
    unsafeCurrentTimeMillis: { value: millis },
    unsafeCurrentTimeNanos: { value: nanos },
    currentTimeMillis: { value: Effect.sync(millis) },
    currentTimeNanos: { value: Effect.sync(nanos) }
  })
}

/** Runs every segment of `total`, one every `everyMillis` of real time. */
const steady = (total: number, everyMillis: number): Jobs.ScriptPayload => ({
  total,
  steps: Array.from({ length: total }, () => [
    { _tag: "Sleep" as const, millis: everyMillis },
    { _tag: "Done" as const, count: 1 }
  ]).flat()
})

// Leases are a network concern kept on Redis's own clock: these tests run in real time, with short leases.
describe("TaskRegistryRedis: leases", () => {
  it.live(
    "takes back the claim of a worker that stopped renewing it within the lease plus a third: PENDING while attempts remain, then FAILED",
    () =>
      Effect.gen(function* () {
        const lease = 1.2
        const shared = { TASK_REDIS_PREFIX: yield* sharedPrefix, TASK_LEASE: String(lease), TASK_MAX_ATTEMPTS: "2" }
        const survivor = yield* process_({ ...shared, TASK_CONCURRENCY: "0" })
        const registry = yield* Effect.provide(TaskRegistry, survivor.context)
        const task = yield* submit(Jobs.instant()).pipe(Effect.provide(survivor.context))
        // A process claims the task, then dies without a word: its claim is never renewed again.
        for (const attempt of [1, 2]) {
          const doomed = yield* process_({ ...shared, TASK_CONCURRENCY: "0" })
          const claim = yield* Effect.flatMap(TaskQueue, (q) => q.claim([Script.name], crypto.randomUUID())).pipe(
            Effect.provide(doomed.context)
          )
          expect(claim).toMatchObject({ value: { id: task.id, attempts: attempt } })
          yield* doomed.stop
          const stopped = Date.now()
          const after = yield* eventually(registry.get(task.id), (t) => t._tag !== "PROCESSING")
          const took = (Date.now() - stopped) / 1000
          // The lease plus a third, and the moment it takes to see it.
          expect(took).toBeLessThan(lease * (4 / 3) + 0.5)
          if (attempt === 1) expect(after).toMatchObject({ _tag: "PENDING", attempts: 1 })
          else expect(after).toMatchObject({ _tag: "FAILED", error: WORKER_LOST })
        }
      }).pipe(Effect.scoped),
    30_000
  )

  it.live(
    "a live worker keeps its claim while another process's clock runs 4 s or 60 s ahead or behind",
    () =>
      Effect.forEach(
        [4_000, -4_000, 60_000, -60_000],
        (offset) =>
          Effect.gen(function* () {
            const shared = { TASK_REDIS_PREFIX: yield* sharedPrefix, TASK_LEASE: "1.2" }
            // The worker keeps the wrong time; the other process reaps with the right one, all along.
            const worker = yield* process_({ ...shared, TASK_CONCURRENCY: "1" }).pipe(
              Effect.withClock(skewedClock(offset))
            )
            const reaper = yield* process_({ ...shared, TASK_CONCURRENCY: "0" })
            const gate = newGate()
            const task = yield* submit(Jobs.gated(gate)).pipe(Effect.provide(reaper.context))
            const running = yield* awaitStatus(task.id, "PROCESSING").pipe(Effect.provide(reaper.context))
            // Three leases long.
            yield* Effect.sleep("3600 millis")
            const registry = yield* Effect.provide(TaskRegistry, reaper.context)
            expect(yield* registry.get(task.id), `offset ${offset}`).toMatchObject({
              _tag: "PROCESSING",
              version: running.version,
              attempts: 1
            })
            yield* Effect.flatMap(Gates, (g) => g.open(gate)).pipe(Effect.provide(worker.context))
            yield* awaitStatus(task.id, "COMPLETED").pipe(Effect.provide(reaper.context))
          }).pipe(Effect.scoped),
        { concurrency: "unbounded", discard: true }
      ),
    30_000
  )
})

describe("TaskRegistryRedis: a backlog of expired records", () => {
  it.scoped("is evicted in bounded runs: each script evicts at most a batch, and a sweep runs until none is left", () =>
    Effect.gen(function* () {
      const count = EVICTION_LIMIT + 150
      const { context } = yield* process_({
        TASK_REDIS_PREFIX: yield* sharedPrefix,
        TASK_CONCURRENCY: "0",
        TASK_CLEANUP_THRESHOLD: "60",
        TASK_CLEANUP_INTERVAL: "0",
        TASK_MAX_PENDING: String(count),
        TASK_MAX_RETAINED: String(count)
      })
      const registry = yield* Effect.provide(TaskRegistry, context)
      const first = yield* submit(Jobs.instant()).pipe(Effect.provide(context))
      yield* registry.cancel(first.id)
      // Records that finished in the same millisecond are evicted in the order of their (random) ids: the first one
      // is the oldest only if it finished before the others.
      yield* TestClock.adjust("1 millis")
      for (let i = 1; i < count; i++) {
        yield* Effect.flatMap(submit(Jobs.instant()).pipe(Effect.provide(context)), (t) => registry.cancel(t.id))
      }
      yield* redisHarness.advance("61 seconds")
      // A submit evicts one batch, oldest first, and no more; the sweep takes the rest.
      yield* submit(Jobs.instant()).pipe(Effect.provide(context))
      expect(yield* registry.stats).toMatchObject({ pending: 1, finished: count - EVICTION_LIMIT })
      expect(yield* Effect.flip(registry.get(first.id))).toMatchObject({ _tag: "TaskExpired" })
      expect(yield* registry.sweep).toBe(count - EVICTION_LIMIT)
      expect(yield* registry.stats).toMatchObject({ finished: 0, tombstones: count })
    })
  )
})

describe("TaskRegistryRedis: several processes", () => {
  it.scoped("cancels from another process: CANCELLED at once, and the running handler stops", () =>
    Effect.gen(function* () {
      const shared = { TASK_REDIS_PREFIX: yield* sharedPrefix }
      const worker = yield* process_({ ...shared, TASK_CONCURRENCY: "1" })
      const other = yield* process_({ ...shared, TASK_CONCURRENCY: "0" })
      const interrupted = newGate("interrupted")
      const task = yield* submit(Jobs.endless(interrupted)).pipe(Effect.provide(worker.context))
      yield* awaitStatus(task.id, "PROCESSING").pipe(Effect.provide(other.context))
      const cancelled = yield* Effect.flatMap(TaskRegistry, (r) => r.cancel(task.id)).pipe(
        Effect.provide(other.context)
      )
      expect(cancelled).toMatchObject({ _tag: "CANCELLED", reason: "Cancelled by request" })
      const gates = yield* Effect.provide(Gates, worker.context)
      yield* within(
        1,
        "the handler did not stop within a second",
        eventually(gates.isOpen(interrupted), (open) => open)
      )
      // The worker is free again: it runs the next task.
      const next = yield* submit(Jobs.instant()).pipe(Effect.provide(other.context))
      yield* awaitStatus(next.id, "COMPLETED").pipe(Effect.provide(other.context))
    })
  )

  it.scoped("shares tasks, their changes and their evictions between processes", () =>
    Effect.gen(function* () {
      const shared = { TASK_REDIS_PREFIX: yield* sharedPrefix, TASK_CLEANUP_THRESHOLD: "60" }
      const a = yield* process_({ ...shared, TASK_CONCURRENCY: "0" })
      const b = yield* process_({ ...shared, TASK_CONCURRENCY: "1" })
      // Each process hears of every change, and knows which ones it made (so that its metrics count only those).
      const heard = (p: typeof a) =>
        Effect.flatMap(TaskRegistry, (r) =>
          r.events.pipe(
            Stream.filter((e) => e._tag === "Changed"),
            Stream.map((e) => `${e.task._tag} v${e.task.version} ${e.here ? "here" : "elsewhere"}`),
            Stream.take(5),
            Stream.runCollect,
            Effect.fork
          )
        ).pipe(Effect.provide(p.context))
      const onA = yield* heard(a)
      const onB = yield* heard(b)
      yield* TestServices.provideLive(Effect.sleep("200 millis"))
      const task = yield* submit(Jobs.instant(2)).pipe(Effect.provide(a.context))
      // Submitted on one, run by the other, watched from the first to the end.
      const done = yield* awaitStatus(task.id, "COMPLETED").pipe(Effect.provide(a.context))
      expect(done.version).toBe(5)
      const progress = ["PROCESSING v2", "PROCESSING v3", "PROCESSING v4", "COMPLETED v5"]
      expect(Chunk.toReadonlyArray(yield* Fiber.join(onA))).toEqual([
        "PENDING v1 here",
        ...progress.map((p) => `${p} elsewhere`)
      ])
      expect(Chunk.toReadonlyArray(yield* Fiber.join(onB))).toEqual([
        "PENDING v1 elsewhere",
        ...progress.map((p) => `${p} here`)
      ])
      yield* redisHarness.advance("61 seconds")
      for (const p of [a, b]) {
        const error = yield* Effect.flip(Effect.flatMap(TaskRegistry, (r) => r.get(task.id))).pipe(
          Effect.provide(p.context)
        )
        expect(error).toMatchObject({ _tag: "TaskExpired", status: "COMPLETED" })
      }
    })
  )
})

/** A redis-server of the test's own, on a free port, that the test can stop and start again. */
const ownRedis = Effect.gen(function* () {
  const port = yield* Effect.promise(freePort)
  let child: ChildProcess | undefined
  const start = Effect.gen(function* () {
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore"
    })
    for (let attempt = 0; ; attempt++) {
      const up = yield* Effect.exit(requireRedis(`redis://127.0.0.1:${port}`))
      if (Exit.isSuccess(up) || attempt === 100) return yield* up
      yield* Effect.sleep("20 millis")
    }
  })
  const stop = Effect.promise(async () => {
    const exiting = child
    child = undefined
    if (exiting === undefined || exiting.exitCode !== null) return
    const exited = new Promise((resolve) => exiting.once("exit", resolve))
    exiting.kill("SIGKILL")
    await exited
  })
  yield* Effect.addFinalizer(() => stop)
  return { url: `redis://127.0.0.1:${port}`, start, stop }
})

describe("TaskRegistryRedis: an unreachable Redis", () => {
  it.live(
    "starts without it, saying so and naming REDIS_URL; answers RegistryUnavailable meanwhile; recovers by itself",
    () => {
      const { layer: logs, lines } = logCapture()
      return Effect.gen(function* () {
        const redis = yield* ownRedis
        const { context } = yield* process_({ REDIS_URL: redis.url, TASK_CONCURRENCY: "1" })
        const registry = yield* Effect.provide(TaskRegistry, context)
        const down = yield* Effect.flip(registry.stats)
        expect(down).toMatchObject({ _tag: "RegistryUnavailable" })
        expect(down.message).toMatch(new RegExp(`Redis at ${redis.url}/?, REDIS_URL`))
        expect(lines.some((l) => l.level === "ERROR" && l.message.includes("(REDIS_URL)"))).toBe(true)
        yield* Effect.flip(submit(Jobs.instant()).pipe(Effect.provide(context)))

        yield* redis.start
        const stats = yield* eventually(Effect.either(registry.stats), (e) => e._tag === "Right")
        expect(stats).toMatchObject({ right: { pending: 0 } })
        const task = yield* submit(Jobs.instant()).pipe(Effect.provide(context))
        yield* awaitStatus(task.id, "COMPLETED").pipe(Effect.provide(context))

        // It goes away: every call says so at once rather than waiting; it comes back: the process goes on, and a
        // reader of events is told that it may have missed changes meanwhile.
        const missed = yield* registry.events.pipe(
          Stream.filter((e) => e._tag === "Missed"),
          Stream.runHead,
          Effect.timeout("20 seconds"),
          Effect.fork
        )
        yield* Effect.sleep("200 millis")
        yield* redis.stop
        const started = Date.now()
        yield* eventually(Effect.either(registry.stats), (e) => e._tag === "Left")
        expect(Date.now() - started).toBeLessThan(5_000)
        yield* redis.start
        yield* eventually(Effect.either(registry.stats), (e) => e._tag === "Right")
        const again = yield* eventually(
          Effect.either(submit(Jobs.instant()).pipe(Effect.provide(context))),
          (e) => e._tag === "Right"
        )
        if (again._tag === "Right") yield* awaitStatus(again.right.id, "COMPLETED").pipe(Effect.provide(context))
        expect(yield* Fiber.join(missed)).toEqual(Option.some({ _tag: "Missed" }))
      }).pipe(Effect.scoped, Effect.provide(logs), TestServices.provideLive)
    },
    30_000
  )

  it.live(
    "a pause shorter than the lease fails no task: timed-out reports are retried and kept once, the claim holds",
    () => {
      const { layer: logs, lines } = logCapture()
      return Effect.gen(function* () {
        const redis = yield* ownRedis
        yield* redis.start
        // Longer than the 5 s after which a command counts as unanswered (so every call made meanwhile is retried),
        // shorter than the lease.
        const shared = { REDIS_URL: redis.url, TASK_REDIS_PREFIX: yield* sharedPrefix, TASK_LEASE: "8" }
        yield* process_({ ...shared, TASK_CONCURRENCY: "1" })
        const other = yield* process_({ ...shared, TASK_CONCURRENCY: "0" })
        const task = yield* submit(steady(16, 400)).pipe(Effect.provide(other.context))
        yield* awaitStatus(task.id, "PROCESSING").pipe(Effect.provide(other.context))
        yield* Effect.sleep("1 second")
        yield* Effect.promise(async () => {
          const client = await createClient({ url: redis.url }).connect()
          await client.sendCommand(["CLIENT", "PAUSE", "6000", "ALL"])
          client.destroy()
        })
        // The test's own reads wait out the pause too.
        const registry = yield* Effect.provide(TaskRegistry, other.context)
        const read = registry
          .get(task.id)
          .pipe(
            Effect.retry({ while: (e) => e._tag === "RegistryUnavailable", schedule: Schedule.spaced("100 millis") })
          )
        let done = yield* read
        for (let i = 0; i < 300 && !Task.isFinished(done); i++) {
          yield* Effect.sleep("100 millis")
          done = yield* read
        }
        expect(done).toMatchObject({ _tag: "COMPLETED", errors: [] })
        // Once: a claim taken back would have started again from the first segment, at a second attempt.
        expect(done.version).toBe(1 + 1 + 16 + 1)
        expect(done._tag === "COMPLETED" && done.completedSegments.map((segment) => segment.segmentId)).toEqual(
          Array.from({ length: 16 }, (_, i) => `s${i}`)
        )
        expect(lines.some((l) => l.message.includes("Retrying until the task store answers"))).toBe(true)
        expect(lines.filter((l) => l.message.includes("Took back"))).toEqual([])
      }).pipe(Effect.scoped, Effect.provide(logs))
    },
    60_000
  )

  it.effect("a Redis test without Redis fails and says how to start one", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(freePort)
      const exit = yield* Effect.exit(requireRedis(`redis://127.0.0.1:${port}`))
      expect(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "it passed").toContain("npm run test:services")
    })
  )
})
