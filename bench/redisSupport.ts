import { createClient } from "@redis/client"
import { Clock, Duration, Effect, Layer, Schema } from "effect"
import { CompletedSegment } from "../src/domain/Task.js"
import * as TaskKind from "../src/domain/TaskKind.js"
import * as TaskIdsHmac from "../src/layers/ids/TaskIdsHmac.js"
import * as TaskRegistryRedis from "../src/layers/redis/TaskRegistryRedis.js"
import * as TaskWorkers from "../src/layers/registry/TaskWorkers.js"
import * as RedisConfig from "../src/services/RedisConfig.js"
import * as RegistryConfig from "../src/services/RegistryConfig.js"
import * as TaskHandler from "../src/services/TaskHandler.js"
import { ManualClock } from "./support.js"

// The Redis registry as the benchmarks build it: in this process, under a prefix of its own, with workers that run a
// kind whose handler reports its one segment at once (what the store costs per task, not what narration costs).

export const redisUrl = process.env["BENCH_REDIS_URL"] ?? "redis://127.0.0.1:6379"

/** The same small payload for our tasks and BullMQ's jobs: one sentence, as a narration segment would carry. */
export const PAYLOAD = { text: "Once upon a time, there was a small fox who lived by the river." }

export const Echo = TaskKind.make({
  name: "bench.echo",
  payload: Schema.Struct({ text: Schema.String }),
  total: () => 1
})

/** What the handler reports, and what the BullMQ processor returns: one finished segment. */
export const segmentOf = (taskId: string) => ({
  segmentId: "s1",
  audioUrl: `/audio/${taskId}/s1.wav`,
  durationSeconds: 2.5
})

const EchoHandler = TaskHandler.layer(
  Echo,
  Effect.succeed((_: { readonly text: string }, progress: TaskHandler.TaskProgress) =>
    progress.segmentDone(new CompletedSegment(segmentOf(progress.taskId)))
  )
)

/** The Redis registry (no sweep fiber) under `prefix`, with `concurrency` workers for `Echo`. */
export const redisLayer = (prefix: string, config: Partial<RegistryConfig.RegistryConfigShape>) =>
  TaskWorkers.layer(Echo).pipe(
    Layer.provide(EchoHandler),
    Layer.provideMerge(TaskRegistryRedis.layerStore),
    Layer.provide(TaskIdsHmac.layerEphemeral),
    Layer.provide(RegistryConfig.layer({ cleanupInterval: Duration.zero, ...config })),
    Layer.provide(RedisConfig.layer({ url: redisUrl, prefix }))
  )

/** A prefix of its own for one benchmark. */
export const benchPrefix = (name: string) => `{bench-${name}-${crypto.randomUUID().slice(0, 8)}}:`

const plainClient = () => createClient({ url: redisUrl })

/** A plain client, as the benchmarks use one to ask Redis directly. */
export type Client = ReturnType<typeof plainClient>

/** A plain client for what the benchmarks ask Redis directly (MEMORY USAGE, filling, cleaning up). */
export const withClient = async <A>(use: (client: Client) => Promise<A>): Promise<A> => {
  const client = plainClient().on("error", () => {})
  await client.connect()
  try {
    return await use(client)
  } finally {
    client.destroy()
  }
}

/** Removes every key that starts with `prefix`. */
export const removeKeys = (prefix: string) =>
  withClient(async (client) => {
    const keys: Array<string> = []
    for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch)
    for (let i = 0; i < keys.length; i += 1000) await client.del(keys.slice(i, i + 1000))
  })

/**
 * The manual clock, except that a fiber that sleeps (the store's renew and reap loops, an idle worker's wait) sleeps
 * on the live clock: the Redis layer has such fibers, and the time the scripts are given stays the manual one.
 */
export class ManualClockThatSleeps extends ManualClock {
  private readonly live = Clock.make()
  override sleep(duration: Duration.Duration): Effect.Effect<void> {
    return this.live.sleep(duration)
  }
}
