import { Duration, Effect, Either, Logger, LogLevel, Stream } from "effect"
import { randomUUID } from "node:crypto"
import { performance } from "node:perf_hooks"
import * as State from "../src/domain/RegistryState.js"
import * as Task from "../src/domain/Task.js"
import { TaskId } from "../src/domain/TaskId.js"
import { TaskRegistry } from "../src/services/TaskRegistry.js"
import { FloorRegistry, ReferenceRegistry } from "./reference.js"
import type { Mode } from "./support.js"
import { benchmarkEnv, fixed, ManualClock, median, Noop, ratio, registryLayer, table } from "./support.js"

const SIZES = [100, 10_000, 100_000] as const

/** Times `ops` calls of `step`, `repetitions` times, and answers the median in microseconds per call. */
const timeSync = (ops: number, repetitions: number, step: () => void) => {
  const samples: Array<number> = []
  for (let r = 0; r < repetitions; r++) {
    const start = performance.now()
    for (let i = 0; i < ops; i++) step()
    samples.push(((performance.now() - start) * 1000) / ops)
  }
  return median(samples)
}

/**
 * The registry service at steady state: one submission per simulated millisecond and a threshold of `size`
 * milliseconds, so that about `size` finished records are retained and every submit evicts about one. Submits are
 * timed in batches of 100, the most TASK_MAX_PENDING allows; between batches (untimed) the worker runs them to
 * COMPLETED, so that each submit does find finished records to evict.
 */
const serviceSubmit = (size: number, ops: number, repetitions: number) => {
  const clock = new ManualClock()
  return Effect.gen(function* () {
    const registry = yield* TaskRegistry
    /** Submits 100 tasks, answers the microseconds they took, then lets the worker finish them. */
    const batch = Effect.gen(function* () {
      let micros = 0
      let last = yield* registry.submit(Noop, {})
      for (let i = 1; i < 100; i++) {
        const start = performance.now()
        last = yield* registry.submit(Noop, {})
        micros += (performance.now() - start) * 1000
        clock.advance(1)
      }
      yield* Stream.runDrain(registry.watch(last.id))
      clock.advance(1)
      return micros / 99
    })
    for (let i = 0; i < size + 1000; i += 100) yield* batch
    const samples: Array<number> = []
    for (let r = 0; r < repetitions; r++) {
      const batches: Array<number> = []
      for (let i = 0; i < ops; i += 100) batches.push(yield* batch)
      samples.push(batches.reduce((a, b) => a + b, 0) / batches.length)
    }
    const stats = yield* registry.stats
    // Tasks finish a batch (100) at a time, so up to a batch more than `size` may be retained.
    if (Math.abs(stats.finished - size) > size * 0.05 + 100 || stats.pending + stats.processing > 5) {
      return yield* Effect.dieMessage(`not at steady state: ${JSON.stringify(stats)}`)
    }
    return median(samples)
  }).pipe(
    Effect.provide(
      registryLayer({
        cleanupThreshold: Duration.millis(size),
        cleanupInterval: Duration.zero,
        maxRetained: size * 2,
        tombstones: 1000
      })
    ),
    (self) => benchmarkEnv(clock, self)
  )
}

/** The pure core the service runs inside its `Ref.modify`: evict what is due, insert, finish. */
const coreSubmit = (size: number, ops: number, repetitions: number) => {
  const policy = { thresholdMs: size, maxRetained: size * 2 }
  let state = State.empty({ tombstoneCapacity: 1000 })
  let now = 0
  const step = () => {
    now++
    const pending = Task.pending({ id: TaskId.make(randomUUID()), kind: "noop", payload: {}, total: 1, createdAt: now })
    state = State.enqueue(pending)(State.evict(now, policy)(state).state)
    const claimed = Either.getOrThrow(Task.start(now, "claim")(pending))
    state = State.putRunning(claimed)(state)
    state = State.putFinished(Either.getOrThrow(Task.complete(now)(claimed)))(state)
  }
  for (let i = 0; i < size + 1000; i++) step()
  return timeSync(ops, repetitions, step)
}

/** The reference port, pre-filled with `size` finished records of which one expires per millisecond. */
const referenceSubmit = (size: number, ops: number, repetitions: number) => {
  const reference = new ReferenceRegistry(size)
  for (let i = 0; i < size; i++) reference.complete(reference.submit(i), i)
  let now = size
  return timeSync(ops, repetitions, () => {
    now++
    reference.complete(reference.submit(now), now)
  })
}

export const evictionCost = async (mode: Mode) => {
  const rows: Array<Array<string>> = []
  const results: Array<{ size: number; service: number; core: number; reference: number }> = []
  for (const size of SIZES) {
    const ops = mode.full ? 5000 : 2000
    const service = await Effect.runPromise(serviceSubmit(size, ops, mode.repetitions))
    const core = coreSubmit(size, ops * 5, mode.repetitions)
    const reference = referenceSubmit(size, size >= 100_000 ? ops / 2 : ops * 5, mode.repetitions)
    results.push({ size, service, core, reference })
  }
  const [smallest] = results
  for (const r of results) {
    rows.push([
      r.size.toLocaleString("en"),
      fixed(r.service),
      ratio(r.service, smallest!.service),
      fixed(r.core),
      ratio(r.core, smallest!.core),
      fixed(r.reference),
      ratio(r.reference, smallest!.reference),
      ratio(r.reference, r.service)
    ])
  }
  table(
    "1. Cost per submit (µs, median) against the number of retained finished records",
    ["retained", "TaskRegistry", "vs 100", "pure core", "vs 100", "reference port", "vs 100", "reference ÷ ours"],
    rows
  )
  const budget = results[results.length - 1]!.service / smallest!.service
  console.log(
    `\nBudget: TaskRegistry at 100,000 within 1.5x of at 100 — measured ${budget.toFixed(2)}x: ${budget <= 1.5 ? "met" : "MISSED"}`
  )
}

/**
 * On the live clock, against the same bookkeeping on a plain Map: submit + get, and submit to COMPLETED (a worker
 * claims the task, its no-op handler reports its one segment, the worker finishes it).
 */
export const throughput = async (mode: Mode) => {
  const ops = mode.full ? 50_000 : 20_000
  /** Operations per second of `step`, which does `per` operations. */
  const measure = <E>(step: Effect.Effect<unknown, E, TaskRegistry>, concurrency: number, per = 1) =>
    Effect.gen(function* () {
      for (let i = 0; i < 2000; i += per) yield* step // warm up, and fill to the cap
      const samples: Array<number> = []
      for (let r = 0; r < mode.repetitions; r++) {
        const start = performance.now()
        for (let i = 0; i < ops; i += per) yield* step
        samples.push(ops / ((performance.now() - start) / 1000))
      }
      return median(samples)
    }).pipe(
      Effect.provide(
        registryLayer({
          cleanupInterval: Duration.zero,
          concurrency,
          maxPending: ops * mode.repetitions + 2000,
          maxPendingWork: ops * mode.repetitions + 2000
        })
      ),
      Logger.withMinimumLogLevel(LogLevel.None),
      Effect.runPromise
    )
  // No worker runs in the first: the cost of the two calls alone.
  const submitAndGet = await measure(
    Effect.flatMap(TaskRegistry, (registry) =>
      Effect.flatMap(registry.submit(Noop, {}), (task) => registry.get(task.id))
    ),
    0
  )
  // Tasks submitted as a client would, 100 at a time (TASK_MAX_PENDING), each batch run to COMPLETED by one worker.
  const toCompleted = await measure(
    Effect.flatMap(TaskRegistry, (registry) =>
      Effect.gen(function* () {
        let last = yield* registry.submit(Noop, {})
        for (let i = 1; i < 100; i++) last = yield* registry.submit(Noop, {})
        yield* Stream.runDrain(registry.watch(last.id))
      })
    ),
    1,
    100
  )
  const floor = new FloorRegistry(1000)
  const floorSamples: Array<number> = []
  for (let r = 0; r < mode.repetitions; r++) {
    const start = performance.now()
    for (let i = 0; i < ops * 10; i++) floor.submitAndGet(i)
    floorSamples.push((ops * 10) / ((performance.now() - start) / 1000))
  }
  const floorOps = median(floorSamples)
  table(
    "2. Throughput, operations per second (median)",
    ["operation", "ops/s", "vs floor"],
    [
      [
        "submit + get (TaskRegistryMemory, no worker)",
        Math.round(submitAndGet).toLocaleString("en"),
        ratio(submitAndGet, floorOps)
      ],
      [
        "submit → COMPLETED, no-op handler, tasks/s (one worker)",
        Math.round(toCompleted).toLocaleString("en"),
        ratio(toCompleted, floorOps)
      ],
      ["plain mutable Map, submit + get bookkeeping (floor)", Math.round(floorOps).toLocaleString("en"), "1.00x"]
    ]
  )
}
