import { Queue, Worker } from "bullmq"
import { Duration, Effect, Either, Logger, LogLevel, Runtime, Stream } from "effect"
import { Redis as IORedis } from "ioredis"
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { once } from "node:events"
import { createInterface } from "node:readline"
import { performance } from "node:perf_hooks"
import * as Task from "../src/domain/Task.js"
import { TaskId } from "../src/domain/TaskId.js"
import * as Stored from "../src/layers/redis/Stored.js"
import { TaskRegistry } from "../src/services/TaskRegistry.js"
import { lifecycle } from "./redisLifecycle.js"
import type { Client } from "./redisSupport.js"
import {
  benchPrefix,
  Echo,
  ManualClockThatSleeps,
  PAYLOAD,
  redisLayer,
  redisUrl,
  removeKeys,
  segmentOf,
  withClient
} from "./redisSupport.js"
import type { Mode } from "./support.js"
import { fixed, median, ratio, table } from "./support.js"

// Section 5: the Redis registry, side by side with BullMQ (Queue + Worker on ioredis) on the same Redis.

const quiet = Logger.withMinimumLogLevel(LogLevel.None)
const lots = { maxPending: 10_000_000, maxPendingWork: 10_000_000 }
const bullConnection = () => new IORedis(redisUrl, { maxRetriesPerRequest: null })

/** Runs `lanes` loops of `step` at once, `ops` steps in all; answers steps per second. */
const lanesPerSecond = async (ops: number, lanes: number, step: () => Promise<unknown>) => {
  const start = performance.now()
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let i = 0; i < ops / lanes; i++) await step()
    })
  )
  return ops / ((performance.now() - start) / 1000)
}

/** (a) submit + get per second, on our registry and with BullMQ's `Queue.add` + `Queue.getJob`. */
const submitAndGet = async (mode: Mode, lanes: number) => {
  const ops = mode.full ? 10_000 : 2_000
  const prefix = benchPrefix("submit")
  const ours = await Effect.gen(function* () {
    const registry = yield* TaskRegistry
    const run = Runtime.runPromise(yield* Effect.runtime<never>())
    const step = () => run(Effect.flatMap(registry.submit(Echo, PAYLOAD), (task) => registry.get(task.id)))
    yield* Effect.promise(() => lanesPerSecond(200, lanes, step))
    const samples: Array<number> = []
    for (let r = 0; r < mode.repetitions; r++)
      samples.push(yield* Effect.promise(() => lanesPerSecond(ops, lanes, step)))
    return median(samples)
  }).pipe(Effect.provide(redisLayer(prefix, { ...lots, concurrency: 0 })), quiet, Effect.runPromise)
  await removeKeys(prefix)

  const name = `bench-submit-${randomUUID().slice(0, 8)}`
  const connection = bullConnection()
  const queue = new Queue(name, { connection })
  const step = async () => {
    const job = await queue.add("echo", PAYLOAD)
    if (job.id === undefined || (await queue.getJob(job.id)) === undefined) throw new Error("BullMQ lost a job")
  }
  await lanesPerSecond(200, lanes, step)
  const samples: Array<number> = []
  for (let r = 0; r < mode.repetitions; r++) samples.push(await lanesPerSecond(ops, lanes, step))
  await queue.obliterate({ force: true })
  await queue.close()
  connection.disconnect()
  return { ours, bull: median(samples) }
}

/** A finished record as the store keeps it, completed at `completedAt`, to fill the finished index quickly. */
const finishedRecord = (completedAt: number) => {
  const pending = Task.pending({
    id: TaskId.make(randomUUID()),
    kind: Echo.name,
    payload: PAYLOAD,
    total: 1,
    createdAt: completedAt
  })
  const started = Either.getOrThrow(Task.start(completedAt, "claim")(pending))
  return { id: pending.id, json: Stored.toJson(Either.getOrThrow(Task.complete(completedAt)(started))) }
}

/**
 * (b) The cost of a submit with `size` finished records retained, at steady state: the finished index is filled
 * directly (pipelined), completed one per simulated millisecond with a threshold of `size` milliseconds; then each
 * timed submit moves the clock on 1 ms, so that it evicts about one record, and between batches of 100 (untimed) the
 * workers run the new tasks to COMPLETED, so that records keep coming into the index as others leave it.
 */
const evictionCost = async (size: number, mode: Mode) => {
  const prefix = benchPrefix("evict")
  await withClient(async (client) => {
    for (let i = 0; i < size; i += 1000) {
      const multi = client.multi()
      for (let j = i; j < Math.min(size, i + 1000); j++) {
        const { id, json } = finishedRecord(j + 1)
        multi.set(`${prefix}f:${id}`, json)
        multi.zAdd(`${prefix}done`, { score: j + 1, value: id })
        multi.zAdd(`${prefix}by:COMPLETED`, { score: j + 1, value: id })
      }
      await multi.execAsPipeline()
    }
  })
  const clock = new ManualClockThatSleeps()
  clock.now = size
  const micros = await Effect.gen(function* () {
    const registry = yield* TaskRegistry
    const batch = Effect.gen(function* () {
      let total = 0
      let last = yield* registry.submit(Echo, PAYLOAD)
      for (let i = 1; i < 100; i++) {
        clock.advance(1)
        const start = performance.now()
        last = yield* registry.submit(Echo, PAYLOAD)
        total += (performance.now() - start) * 1000
      }
      yield* Stream.runDrain(registry.watch(last.id))
      return total / 99
    })
    for (let i = 0; i < 3; i++) yield* batch
    const samples: Array<number> = []
    for (let r = 0; r < mode.repetitions; r++) {
      const batches: Array<number> = []
      for (let i = 0; i < (mode.full ? 1000 : 500); i += 100) batches.push(yield* batch)
      samples.push(batches.reduce((a, b) => a + b, 0) / batches.length)
    }
    const stats = yield* registry.stats
    if (Math.abs(stats.finished - size) > size * 0.05 + 100) {
      return yield* Effect.dieMessage(`not at steady state: ${JSON.stringify(stats)}`)
    }
    return median(samples)
  }).pipe(
    Effect.provide(
      redisLayer(prefix, {
        ...lots,
        concurrency: 1,
        cleanupThreshold: Duration.millis(size),
        maxRetained: size * 2,
        tombstones: 1000
      })
    ),
    Effect.withClock(clock),
    quiet,
    Effect.runPromise
  )
  await removeKeys(prefix)
  return micros
}

const memoryUsage = (client: Client, key: string) => client.memoryUsage(key, { SAMPLES: 0 }).then((bytes) => bytes ?? 0)

/**
 * (c) Redis memory per retained finished record: the record (our JSON string, BullMQ's job hash), plus its share of the indexes it is in (the
 * finished index and its status's list on ours; the completed set on BullMQ's), over `count` records run to the end.
 */
const memoryPerRecord = async (count: number) => {
  const prefix = benchPrefix("memory")
  await Effect.gen(function* () {
    const registry = yield* TaskRegistry
    let last = yield* registry.submit(Echo, PAYLOAD)
    for (let i = 1; i < count; i++) last = yield* registry.submit(Echo, PAYLOAD)
    yield* Stream.runDrain(registry.watch(last.id))
  }).pipe(Effect.provide(redisLayer(prefix, { ...lots, concurrency: 4, maxRetained: count })), quiet, Effect.runPromise)
  const ours = await withClient(async (client) => {
    const ids = await client.zRange(`${prefix}done`, 0, -1)
    if (ids.length !== count) throw new Error(`expected ${count} finished records, found ${ids.length}`)
    let records = 0
    for (const id of ids) records += await memoryUsage(client, `${prefix}f:${id}`)
    const indexes = (await memoryUsage(client, `${prefix}done`)) + (await memoryUsage(client, `${prefix}by:COMPLETED`))
    return { record: records / count, index: indexes / count }
  })
  await removeKeys(prefix)

  const name = `bench-memory-${randomUUID().slice(0, 8)}`
  const connection = bullConnection()
  const queue = new Queue(name, { connection })
  // BullMQ does not close a connection it was given: left open, this one kept the process alive after the benchmarks.
  const workerConnection = bullConnection()
  const worker = new Worker(name, async (job) => segmentOf(job.id ?? ""), {
    connection: workerConnection,
    concurrency: 4
  })
  await queue.addBulk(Array.from({ length: count }, () => ({ name: "echo", data: PAYLOAD })))
  const deadline = Date.now() + 120_000
  while ((await queue.getCompletedCount()) < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  const bull = await withClient(async (client) => {
    const ids = await client.zRange(`bull:${name}:completed`, 0, -1)
    if (ids.length !== count) throw new Error(`expected ${count} completed jobs, found ${ids.length}`)
    let records = 0
    for (const id of ids) records += await memoryUsage(client, `bull:${name}:${id}`)
    const index = await memoryUsage(client, `bull:${name}:completed`)
    const events = await memoryUsage(client, `bull:${name}:events`)
    return { record: records / count, index: index / count, events: events / count }
  })
  await worker.close()
  await queue.obliterate({ force: true })
  await queue.close()
  connection.disconnect()
  workerConnection.disconnect()
  return { ours, bull }
}

/** Starts `processes` worker processes, fills `count` tasks, says go, and answers tasks finished per second. */
const workerProcesses = async (processes: number, count: number, concurrency: number) => {
  const prefix = benchPrefix("workers")
  const children = Array.from({ length: processes }, () =>
    spawn(process.execPath, ["--import", "tsx", "bench/redisWorker.ts"], {
      env: { ...process.env, BENCH_PREFIX: prefix, BENCH_CONCURRENCY: String(concurrency), BENCH_REDIS_URL: redisUrl },
      stdio: ["pipe", "pipe", "inherit"]
    })
  )
  try {
    await Promise.all(children.map(async (child) => once(createInterface({ input: child.stdout! }), "line")))
    return await Effect.gen(function* () {
      const registry = yield* TaskRegistry
      yield* Effect.forEach(Array.from({ length: count }), () => registry.submit(Echo, PAYLOAD), {
        concurrency: 32,
        discard: true
      })
      const start = performance.now()
      for (const child of children) child.stdin!.write("go\n")
      for (let i = 0; i < 6000; i++) {
        const stats = yield* registry.stats
        if (stats.pending + stats.processing === 0) break
        yield* Effect.sleep("10 millis")
      }
      const stats = yield* registry.stats
      if (stats.finished !== count) return yield* Effect.dieMessage(`not all finished: ${JSON.stringify(stats)}`)
      return count / ((performance.now() - start) / 1000)
    }).pipe(
      Effect.provide(redisLayer(prefix, { ...lots, concurrency: 0, maxRetained: count })),
      quiet,
      Effect.runPromise
    )
  } finally {
    for (const child of children) child.kill("SIGKILL")
    await removeKeys(prefix)
  }
}

export const redis = async (mode: Mode) => {
  const sequential = await submitAndGet(mode, 1)
  const concurrent = await submitAndGet(mode, 16)
  table(
    "5a. Redis: submit + get per second (median), ours against BullMQ's Queue.add + Queue.getJob, same Redis",
    ["clients at once", "TaskRegistryRedis ops/s", "BullMQ ops/s", "ours ÷ BullMQ"],
    [
      [
        "1",
        Math.round(sequential.ours).toLocaleString("en"),
        Math.round(sequential.bull).toLocaleString("en"),
        ratio(sequential.ours, sequential.bull)
      ],
      [
        "16",
        Math.round(concurrent.ours).toLocaleString("en"),
        Math.round(concurrent.bull).toLocaleString("en"),
        ratio(concurrent.ours, concurrent.bull)
      ]
    ]
  )

  const small = await evictionCost(100, mode)
  const large = await evictionCost(100_000, mode)
  table(
    "5b. Redis: cost per submit (µs, median) against the number of retained finished records",
    ["retained", "TaskRegistryRedis µs", "vs 100"],
    [
      ["100", fixed(small), "1.00x"],
      ["100,000", fixed(large), ratio(large, small)]
    ]
  )
  console.log(
    `\nBudget: at 100,000 within 1.5x of at 100 — measured ${ratio(large, small)}: ${large / small <= 1.5 ? "met" : "MISSED"}`
  )

  const memory = await memoryPerRecord(1000)
  const oursTotal = memory.ours.record + memory.ours.index
  const bullTotal = memory.bull.record + memory.bull.index
  table(
    "5c. Redis MEMORY USAGE per retained finished record (bytes, over 1,000), ours against a completed BullMQ job",
    ["store", "record", "index entries", "total", "vs BullMQ"],
    [
      [
        "TaskRegistryRedis (JSON string + done + by:COMPLETED)",
        fixed(memory.ours.record, 0),
        fixed(memory.ours.index, 0),
        fixed(oursTotal, 0),
        ratio(oursTotal, bullTotal)
      ],
      [
        "BullMQ (job hash + completed set)",
        fixed(memory.bull.record, 0),
        fixed(memory.bull.index, 0),
        fixed(bullTotal, 0),
        "1.00x"
      ]
    ]
  )
  console.log(
    `(BullMQ also keeps an events stream, capped at 10,000 entries by default: ${fixed(memory.bull.events, 0)} B per job here.)`
  )

  const count = mode.full ? 10_000 : 2_000
  const one = await workerProcesses(1, count, 4)
  const two = await workerProcesses(2, count, 4)
  table(
    `5d. Redis: tasks per second to COMPLETED, ${count.toLocaleString("en")} no-op tasks, worker processes of 4 workers each`,
    ["worker processes", "tasks/s", "vs one"],
    [
      ["1", Math.round(one).toLocaleString("en"), "1.00x"],
      ["2", Math.round(two).toLocaleString("en"), ratio(two, one)]
    ]
  )

  await lifecycle(mode)
}
