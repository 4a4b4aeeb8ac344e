import { Queue, Worker } from "bullmq"
import { ConfigProvider, Effect, Layer, Logger, LogLevel, Schema } from "effect"
import { Redis as IORedis } from "ioredis"
import { randomUUID } from "node:crypto"
import { CompletedSegment, TaskHandler, TaskKind, TaskQueue, TaskRegistry, TaskWorkers } from "../src/index.js"
import { TaskRegistryRedis } from "../src/redis.js"
import type { Counters } from "./redisMeter.js"
import { RedisMeter, redisUrl } from "./redisMeter.js"
import type { Mode } from "./support.js"
import { fixed, median, ratio, table } from "./support.js"

// Section 5e/5f: a task's whole lifecycle, ours against BullMQ on the same Redis, through each one's public API as a
// user would write it. Per task the client submits, reads the task, waits until it is running, reads it, lets it go
// on, waits until it has finished, and reads it a third time; a worker claims it and reports 5 segments, then finishes.
// Ours: TaskRegistryRedis.layerConfig + TaskWorkers + a TaskHandler (configured as a user would, by variables);
// BullMQ: Queue.add, a Worker whose processor calls job.updateProgress 5 times, Queue.getJob. Only the public entries
// are imported, so that a rewrite of the store's internals leaves this benchmark as it is.

const PAYLOAD = { text: "Once upon a time, there was a small fox who lived by the river." }
const SEGMENTS = 5
/** Reports made before the handler / processor says "running" and waits for the client's second read. */
const BEFORE_READ = 2
const TASK_TIMEOUT_MS = 30_000
const RUN_TIMEOUT_MS = 300_000

const segmentOf = (taskId: string, n: number) => ({
  segmentId: `s${n}`,
  audioUrl: `/audio/${taskId}/s${n}.wav`,
  durationSeconds: 2.5
})

/** One-shot signals by task id, whichever of `signal` and `wait` comes first; a wait gives up after a while. */
class Signals {
  private readonly entries = new Map<string, { readonly promise: Promise<void>; readonly resolve: () => void }>()
  private entry(id: string) {
    let entry = this.entries.get(id)
    if (entry === undefined) {
      let resolve = () => {}
      const promise = new Promise<void>((r) => (resolve = r))
      entry = { promise, resolve }
      this.entries.set(id, entry)
    }
    return entry
  }
  signal(id: string) {
    this.entry(id).resolve()
  }
  async wait(id: string, what: string) {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} of ${id}: no signal in ${TASK_TIMEOUT_MS} ms`)),
        TASK_TIMEOUT_MS
      )
    })
    try {
      await Promise.race([this.entry(id).promise, timeout])
    } finally {
      clearTimeout(timer)
      this.entries.delete(id)
    }
  }
}

/** The three moments the client and the worker meet at, per task. */
const meetings = () => ({ running: new Signals(), resume: new Signals(), finished: new Signals() })
type Meetings = ReturnType<typeof meetings>

/** What one run cost, per task (Redis's figures less the meter's own traffic). */
export interface Figures {
  readonly tasksPerSecond: number
  readonly redisCpuMicros: number
  readonly commands: number
  readonly scripts: number
  readonly bytesIn: number
  readonly bytesOut: number
  readonly processCpuMicros: number
  /** MEMORY USAGE of every key the run left, over the records retained. */
  readonly memoryPerRecord: number
  /** The events stream (capped: BullMQ's, or our event history), per record, not counted in `memoryPerRecord`. */
  readonly eventsPerRecord: number
}

const figures = (tasks: number, redis: Counters, cpu: NodeJS.CpuUsage, memory: number, events: number): Figures => ({
  tasksPerSecond: tasks / (redis.at / 1000),
  redisCpuMicros: (redis.cpu * 1e6) / tasks,
  commands: redis.calls / tasks,
  scripts: redis.scripts / tasks,
  bytesIn: redis.bytesIn / tasks,
  bytesOut: redis.bytesOut / tasks,
  processCpuMicros: (cpu.user + cpu.system) / tasks,
  memoryPerRecord: memory / tasks,
  eventsPerRecord: events / tasks
})

/** `tasks` split over `lanes` lanes. */
const shares = (tasks: number, lanes: number) =>
  Array.from({ length: lanes }, (_, i) => Math.floor(tasks / lanes) + (i < tasks % lanes ? 1 : 0))

// ---- Ours -------------------------------------------------------------------------------------------------------

const Lifecycle = TaskKind.make({
  name: "bench.lifecycle",
  payload: Schema.Struct({ text: Schema.String }),
  total: () => SEGMENTS
})

const handlerLayer = (meet: Meetings) =>
  TaskHandler.layer(
    Lifecycle,
    Effect.succeed((_: { readonly text: string }, progress: TaskHandler.TaskProgress) =>
      Effect.gen(function* () {
        for (let n = 1; n <= SEGMENTS; n++) {
          if (n === BEFORE_READ + 1) {
            meet.running.signal(progress.taskId)
            yield* Effect.promise(() => meet.resume.wait(progress.taskId, "resume"))
          }
          yield* progress.segmentDone(new CompletedSegment(segmentOf(progress.taskId, n)))
        }
      })
    )
  )

/**
 * The workers' side of the store, telling the client when a finish has been recorded: the counterpart of BullMQ's
 * Worker "completed" event, in this process, at no cost to Redis.
 */
const finishSignal = (meet: Meetings) =>
  Layer.effect(
    TaskQueue,
    Effect.map(TaskQueue, (queue) =>
      TaskQueue.of({
        ...queue,
        finish: (claim, outcome) =>
          queue.finish(claim, outcome).pipe(Effect.ensuring(Effect.sync(() => meet.finished.signal(claim.id))))
      })
    )
  )

/** Our registry and `concurrency` workers, configured by variables as a user's process would be. */
const ours = <A, E>(
  prefix: string,
  concurrency: number,
  retained: number,
  meet: Meetings,
  program: Effect.Effect<A, E, TaskRegistry>
) =>
  program.pipe(
    Effect.provide(
      TaskWorkers.layer(Lifecycle).pipe(
        Layer.provide(handlerLayer(meet)),
        Layer.provide(finishSignal(meet)),
        Layer.provideMerge(TaskRegistryRedis.layerConfig)
      )
    ),
    Effect.withConfigProvider(
      ConfigProvider.fromMap(
        new Map([
          ["REDIS_URL", redisUrl],
          ["TASK_REDIS_PREFIX", prefix],
          ["TASK_CONCURRENCY", String(concurrency)],
          ["TASK_MAX_RETAINED", String(retained)],
          ["TASK_MAX_PENDING", "100000"],
          ["TASK_MAX_PENDING_WORK", "10000000"],
          ["TASK_CLEANUP_THRESHOLD", "3600"],
          ["TASK_CLEANUP_INTERVAL", "3600"]
        ])
      )
    ),
    Logger.withMinimumLogLevel(LogLevel.None),
    Effect.timeout(RUN_TIMEOUT_MS),
    Effect.runPromise
  )

export const oursRun = async (meter: RedisMeter, tasks: number, lanes: number): Promise<Figures> => {
  const prefix = `{bench-life-${randomUUID().slice(0, 8)}}:`
  const meet = meetings()
  try {
    const { redis, cpu } = await ours(
      prefix,
      lanes,
      tasks + 1000,
      meet,
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const lifecycle = Effect.gen(function* () {
          const task = yield* registry.submit(Lifecycle, PAYLOAD)
          yield* registry.get(task.id)
          yield* Effect.promise(() => meet.running.wait(task.id, "running"))
          const running = yield* registry.get(task.id)
          meet.resume.signal(task.id)
          yield* Effect.promise(() => meet.finished.wait(task.id, "finish"))
          const end = yield* registry.get(task.id)
          if (running._tag !== "PROCESSING" || end._tag !== "COMPLETED" || end.completedSegments.length !== SEGMENTS) {
            return yield* Effect.dieMessage(`task ${task.id}: ${running._tag} while running, then ${end._tag}`)
          }
        }).pipe(Effect.orDie)
        const lane = (count: number) => Effect.repeatN(lifecycle, count - 1)
        const cpuBefore = process.cpuUsage()
        const before = yield* Effect.promise(() => meter.read())
        yield* Effect.forEach(shares(tasks, lanes), lane, { concurrency: "unbounded", discard: true })
        const after = yield* Effect.promise(() => meter.read())
        const cpu = process.cpuUsage(cpuBefore)
        const stats = yield* Effect.orDie(registry.stats)
        if (stats.finished !== tasks) return yield* Effect.dieMessage(`expected ${tasks} records: ${stats.finished}`)
        return { redis: meter.delta(before, after), cpu }
      })
    )
    // The registry's connections are closed by now; what stays under the prefix is the retained records and the
    // registry's own keys (counts, indexes), all counted, but for its event history: a stream capped at about
    // 10,000 entries whatever the number of records, printed apart like BullMQ's events stream.
    const keys = await meter.keys(`${prefix}*`)
    const log = keys.filter((key) => key === `${prefix}log`)
    const memory = await meter.memoryUsage(keys.filter((key) => !log.includes(key)))
    return figures(tasks, redis, cpu, memory, await meter.memoryUsage(log))
  } finally {
    await meter.removeKeys(`${prefix}*`)
  }
}

// ---- BullMQ -----------------------------------------------------------------------------------------------------

const bullConnection = () => new IORedis(redisUrl, { maxRetriesPerRequest: null })

/** A queue and a worker of `concurrency` on it (completed jobs kept: BullMQ's default), under a name of its own. */
const bullmq = async <A>(concurrency: number, use: (queue: Queue, name: string, meet: Meetings) => Promise<A>) => {
  const name = `bench-life-${randomUUID().slice(0, 8)}`
  const meet = meetings()
  const connections = [bullConnection(), bullConnection()] as const
  const queue = new Queue(name, { connection: connections[0] })
  const worker = new Worker(
    name,
    async (job) => {
      const id = job.id ?? ""
      const segments: Array<ReturnType<typeof segmentOf>> = []
      for (let n = 1; n <= SEGMENTS; n++) {
        if (n === BEFORE_READ + 1) {
          meet.running.signal(id)
          await meet.resume.wait(id, "resume")
        }
        const segment = segmentOf(id, n)
        segments.push(segment)
        await job.updateProgress(segment)
      }
      return segments
    },
    { connection: connections[1], concurrency }
  )
  worker.on("completed", (job) => meet.finished.signal(job.id ?? ""))
  worker.on("failed", (job) => meet.finished.signal(job?.id ?? ""))
  worker.on("error", () => {})
  try {
    await queue.waitUntilReady()
    await worker.waitUntilReady()
    return await use(queue, name, meet)
  } finally {
    await worker.close()
    await queue.obliterate({ force: true })
    await queue.close()
    for (const connection of connections) connection.disconnect()
  }
}

export const bullRun = (meter: RedisMeter, tasks: number, lanes: number): Promise<Figures> =>
  bullmq(lanes, async (queue, name, meet) => {
    const lifecycle = async () => {
      const job = await queue.add("lifecycle", PAYLOAD)
      const id = job.id ?? ""
      await queue.getJob(id)
      await meet.running.wait(id, "running")
      const running = await queue.getJob(id)
      meet.resume.signal(id)
      await meet.finished.wait(id, "finish")
      const end = await queue.getJob(id)
      const result: unknown = end?.returnvalue
      if (running?.processedOn === undefined || end?.finishedOn === undefined || !Array.isArray(result)) {
        throw new Error(`job ${id} did not run to completion: ${JSON.stringify(end?.failedReason)}`)
      }
      if (result.length !== SEGMENTS) throw new Error(`job ${id} returned ${result.length} segments`)
    }
    const cpuBefore = process.cpuUsage()
    const before = await meter.read()
    await Promise.all(
      shares(tasks, lanes).map(async (count) => {
        for (let i = 0; i < count; i++) await lifecycle()
      })
    )
    const after = await meter.read()
    const cpu = process.cpuUsage(cpuBefore)
    const completed = await queue.getCompletedCount()
    if (completed !== tasks) throw new Error(`expected ${tasks} completed jobs, found ${completed}`)
    const keys = await meter.keys(`bull:${name}:*`)
    const events = keys.filter((key) => key === `bull:${name}:events`)
    const memory = await meter.memoryUsage(keys.filter((key) => !events.includes(key)))
    return figures(tasks, meter.delta(before, after), cpu, memory, await meter.memoryUsage(events))
  })

// ---- Idle ---------------------------------------------------------------------------------------------------------

const IDLE_WORKERS = 1000
const IDLE_SECONDS = 5

/** Redis commands per second, over `seconds`, from whoever sends them. */
const commandRate = async (meter: RedisMeter, seconds: number) => {
  const { redis } = await meter.measure(() => new Promise((r) => setTimeout(r, seconds * 1000)))
  return redis.calls / (redis.at / 1000)
}

/**
 * Commands per second with `IDLE_WORKERS` idle workers, each side after a second to settle, and what other clients
 * of this Redis send (a shared Redis: other processes' tests), measured before and after.
 */
const idle = async (meter: RedisMeter) => {
  const before = await commandRate(meter, 3)
  const prefix = `{bench-idle-${randomUUID().slice(0, 8)}}:`
  const oursRate = await ours(
    prefix,
    IDLE_WORKERS,
    1000,
    meetings(),
    Effect.zipRight(
      Effect.sleep("1 second"),
      Effect.promise(() => commandRate(meter, IDLE_SECONDS))
    )
  ).finally(() => meter.removeKeys(`${prefix}*`))
  const bullRate = await bullmq(IDLE_WORKERS, async () => {
    await new Promise((r) => setTimeout(r, 1000))
    return commandRate(meter, IDLE_SECONDS)
  })
  const after = await commandRate(meter, 3)
  return { before, after, ours: oursRate, bull: bullRate }
}

// ---- The section --------------------------------------------------------------------------------------------------

const rows: ReadonlyArray<readonly [string, (f: Figures) => number, number]> = [
  ["tasks/s", (f) => f.tasksPerSecond, 0],
  ["Redis CPU µs/task", (f) => f.redisCpuMicros, 0],
  ["commands/task (incl. in scripts)", (f) => f.commands, 1],
  ["script calls/task", (f) => f.scripts, 1],
  ["bytes into Redis/task", (f) => f.bytesIn, 0],
  ["bytes out of Redis/task", (f) => f.bytesOut, 0],
  ["this process CPU µs/task", (f) => f.processCpuMicros, 0],
  ["memory B/retained record", (f) => f.memoryPerRecord, 0]
]

const medians = (runs: ReadonlyArray<Figures>): Figures => ({
  tasksPerSecond: median(runs.map((f) => f.tasksPerSecond)),
  redisCpuMicros: median(runs.map((f) => f.redisCpuMicros)),
  commands: median(runs.map((f) => f.commands)),
  scripts: median(runs.map((f) => f.scripts)),
  bytesIn: median(runs.map((f) => f.bytesIn)),
  bytesOut: median(runs.map((f) => f.bytesOut)),
  processCpuMicros: median(runs.map((f) => f.processCpuMicros)),
  memoryPerRecord: median(runs.map((f) => f.memoryPerRecord)),
  eventsPerRecord: median(runs.map((f) => f.eventsPerRecord))
})

/** "met", or by how many times the goal was missed. */
const goal = (name: string, ours: number, bull: number, met: boolean, missedBy: number) =>
  console.log(
    `Goal: ${name}: ${met ? "met" : `missed by ${missedBy.toFixed(2)}x`} (ours ${fixed(ours, ours < 100 ? 1 : 0)}, ` +
      `BullMQ ${fixed(bull, bull < 100 ? 1 : 0)}, ${ratio(ours, bull)})`
  )

const number = (value: number, digits: number) =>
  value.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits })

export const lifecycle = async (mode: Mode) => {
  const meter = await RedisMeter.open()
  try {
    const levels = [
      { lanes: 1, tasks: mode.full ? 1000 : 500 },
      { lanes: 16, tasks: mode.full ? 5000 : 2000 }
    ]
    // Warm-up (JIT, connections, script cache) on both sides, not measured.
    await oursRun(meter, 100, 16)
    await bullRun(meter, 100, 16)
    const results = []
    for (const { lanes, tasks } of levels) {
      const background = await commandRate(meter, 2)
      const oursRuns: Array<Figures> = []
      const bullRuns: Array<Figures> = []
      for (let r = 0; r < mode.repetitions; r++) {
        oursRuns.push(await oursRun(meter, tasks, lanes))
        bullRuns.push(await bullRun(meter, tasks, lanes))
      }
      results.push({ lanes, tasks, background, ours: medians(oursRuns), bull: medians(bullRuns), oursRuns, bullRuns })
    }
    const [one, sixteen] = results as [(typeof results)[0], (typeof results)[0]]
    table(
      `5e. Redis: the whole lifecycle per task (submit, claim, ${SEGMENTS} reports, finish, 3 reads), ours against ` +
        `BullMQ, medians of ${mode.repetitions} alternating runs; C=1: ${one.tasks} tasks, C=16: ${sixteen.tasks}`,
      ["per task", "ours C=1", "BullMQ C=1", "ours ÷ BullMQ", "ours C=16", "BullMQ C=16", "ours ÷ BullMQ"],
      rows.map(([name, of, digits]) => [
        name,
        number(of(one.ours), digits),
        number(of(one.bull), digits),
        ratio(of(one.ours), of(one.bull)),
        number(of(sixteen.ours), digits),
        number(of(sixteen.bull), digits),
        ratio(of(sixteen.ours), of(sixteen.bull))
      ])
    )
    console.log(
      `\nEach run's tasks/s at C=16, ours: ${sixteen.oursRuns.map((f) => Math.round(f.tasksPerSecond)).join(", ")}; ` +
        `BullMQ: ${sixteen.bullRuns.map((f) => Math.round(f.tasksPerSecond)).join(", ")}. The events streams (each ` +
        `capped at about 10,000 entries), not counted above, per record at C=16: BullMQ's ` +
        `${fixed(sixteen.bull.eventsPerRecord, 0)} B, our event history ${fixed(sixteen.ours.eventsPerRecord, 0)} B.`
    )
    const others = Math.max(one.background, sixteen.background)
    console.log(
      `Other clients' traffic on this Redis, 2 s before each level: ${fixed(one.background, 1)} and ` +
        `${fixed(sixteen.background, 1)} commands/s` +
        (others > 5
          ? `; WARNING: INFO counts the whole server, so what others send during a run is in its figures (at that ` +
            `rate, about ${fixed(others / sixteen.ours.tasksPerSecond, 1)} commands/task on ours at C=16, ` +
            `${fixed(others / sixteen.bull.tasksPerSecond, 1)} on BullMQ's); a Redis of its own (BENCH_REDIS_URL) ` +
            `gives clean figures.`
          : ".")
    )
    const o = sixteen.ours
    const b = sixteen.bull
    goal(
      "at C=16, tasks/s at least BullMQ's",
      o.tasksPerSecond,
      b.tasksPerSecond,
      o.tasksPerSecond >= b.tasksPerSecond,
      b.tasksPerSecond / o.tasksPerSecond
    )
    goal(
      "at C=16, Redis CPU per task at most BullMQ's",
      o.redisCpuMicros,
      b.redisCpuMicros,
      o.redisCpuMicros <= b.redisCpuMicros,
      o.redisCpuMicros / b.redisCpuMicros
    )
    goal(
      "at C=16, bytes into Redis per task at most BullMQ's",
      o.bytesIn,
      b.bytesIn,
      o.bytesIn <= b.bytesIn,
      o.bytesIn / b.bytesIn
    )
    goal(
      "memory per retained record below BullMQ's",
      o.memoryPerRecord,
      b.memoryPerRecord,
      o.memoryPerRecord < b.memoryPerRecord,
      o.memoryPerRecord / b.memoryPerRecord
    )

    const rates = await idle(meter)
    table(
      `5f. Redis: commands per second with ${IDLE_WORKERS.toLocaleString("en")} idle workers and nothing submitted, over ${IDLE_SECONDS} s`,
      ["workers", "Redis commands/s", "vs BullMQ"],
      [
        [`ours (TASK_CONCURRENCY=${IDLE_WORKERS}, one process)`, fixed(rates.ours, 1), ratio(rates.ours, rates.bull)],
        [`BullMQ (a Worker of concurrency ${IDLE_WORKERS})`, fixed(rates.bull, 1), "1.00x"],
        ["neither: other clients of this Redis, 3 s before", fixed(rates.before, 1), ""],
        ["neither: other clients of this Redis, 3 s after", fixed(rates.after, 1), ""]
      ]
    )
  } finally {
    meter.close()
  }
}
