import { Duration, Effect, Stream } from "effect"
import type { RegistryConfigShape } from "../src/services/RegistryConfig.js"
import { TaskRegistry } from "../src/services/TaskRegistry.js"
import type { Mode } from "./support.js"
import { benchmarkEnv, ManualClock, Noop, registryLayer, table } from "./support.js"

const gc = () => {
  if (typeof globalThis.gc !== "function") throw new Error("run with node --expose-gc (npm run bench does)")
  globalThis.gc()
  globalThis.gc()
}

const heapMiB = () => process.memoryUsage().heapUsed / 2 ** 20

/** Submits `count` one-segment tasks, `stepMillis` of simulated time apart, calling `at` at each checkpoint. */
const submitMany = (
  config: Partial<RegistryConfigShape>,
  count: number,
  stepMillis: number,
  checkpoints: ReadonlyArray<number>,
  at: (submitted: number, stats: { finished: number; tombstones: number; active: number }) => void
) => {
  const clock = new ManualClock()
  return Effect.gen(function* () {
    const registry = yield* TaskRegistry
    for (let i = 1; i <= count; i++) {
      const task = yield* registry.submit(Noop, {})
      // One worker runs tasks in order: once the last of a batch of 100 (TASK_MAX_PENDING) is done, all are.
      if (i % 100 === 0 || checkpoints.includes(i)) yield* Stream.runDrain(registry.watch(task.id))
      clock.advance(stepMillis)
      if (checkpoints.includes(i)) {
        const stats = yield* registry.stats
        at(i, { finished: stats.finished, tombstones: stats.tombstones, active: stats.pending + stats.processing })
      }
    }
  }).pipe(Effect.provide(registryLayer({ cleanupInterval: Duration.zero, ...config })), (self) =>
    benchmarkEnv(clock, self)
  )
}

/** Heap per record held: fill a registry that keeps everything as records (or as tombstones), and divide. */
const bytesPer = async (config: Partial<RegistryConfigShape>, count: number) => {
  gc()
  const before = process.memoryUsage().heapUsed
  let after = before
  await Effect.runPromise(
    submitMany(config, count, 1, [count], () => {
      gc()
      after = process.memoryUsage().heapUsed
    })
  )
  return (after - before) / count
}

export const memory = async (mode: Mode) => {
  // 1,000,000 submissions over a simulated day: 86.4 ms apart. Quick mode runs the first quarter of that day.
  const total = mode.full ? 1_000_000 : 250_000
  const checkpoints = mode.full ? [100_000, 250_000, 500_000, 1_000_000] : [50_000, 100_000, 175_000, 250_000]
  gc()
  const baseline = heapMiB()
  const rows: Array<Array<string>> = []
  await Effect.runPromise(
    submitMany({}, total, 86.4, checkpoints, (submitted, stats) => {
      gc()
      rows.push([
        submitted.toLocaleString("en"),
        `${((submitted * 86.4) / 3_600_000).toFixed(1)} h`,
        stats.finished.toLocaleString("en"),
        stats.tombstones.toLocaleString("en"),
        String(stats.active),
        (heapMiB() - baseline).toFixed(1)
      ])
    })
  )
  table(
    "3. Memory over a long session (default settings; heap after a forced GC, MiB above the empty process)",
    ["submissions", "simulated", "finished records", "tombstones", "active", "heap MiB"],
    rows
  )
  // The budget: no growth once the registry has reached its bounds, from the 100,000th submission on.
  const from = rows.find((r) => r[0] === "100,000")!
  const last = rows[rows.length - 1]!
  const growth = Number(last[5]) - Number(from[5])
  console.log(`\nHeap growth from the 100,000th to the ${last[0]}th submission: ${growth.toFixed(1)} MiB`)

  const perRecord = await bytesPer({ maxRetained: 100_000, tombstones: 0 }, 100_000)
  const perTombstone = await bytesPer({ maxRetained: 0, tombstones: 100_000 }, 100_000)
  table(
    "Bytes per record (100,000 one-segment tasks held, heap delta after GC)",
    ["held as", "bytes each"],
    [
      ["finished record (with its segment and the index entry)", Math.round(perRecord).toLocaleString("en")],
      ["tombstone", Math.round(perTombstone).toLocaleString("en")]
    ]
  )
}
