import { createClient } from "@redis/client"
import { Context, Effect, Exit, Layer, TestClock, TestServices } from "effect"
import type { ChildProcess } from "node:child_process"
import { spawn } from "node:child_process"
import { RedisConnection } from "../../src/layers/redis/Connection.js"
import * as Sweeper from "../../src/layers/registry/Sweeper.js"
import * as TaskIdsHmac from "../../src/layers/ids/TaskIdsHmac.js"
import * as TaskRegistryRedis from "../../src/layers/redis/TaskRegistryRedis.js"
import * as TaskWorkers from "../../src/layers/registry/TaskWorkers.js"
import * as RedisConfig from "../../src/services/RedisConfig.js"
import * as RegistryConfig from "../../src/services/RegistryConfig.js"
import { TaskQueue } from "../../src/services/TaskQueue.js"
import { TaskRegistry } from "../../src/services/TaskRegistry.js"
import { freePort } from "./net.js"
import type { RegistryHarness } from "./registry.js"
import { withEnv } from "./registry.js"
import { Gates, Script, ScriptHandler } from "./script.js"

/** The Redis the tests use: the one `npm run test:services` makes sure of, unless `TEST_REDIS_URL` names another. */
export const redisUrl = process.env["TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379"

const HOW_TO_START =
  "start one with `npm run test:services` (it starts redis-server, installing it if missing), " +
  "or `redis-server --daemonize yes`, or point TEST_REDIS_URL at one"

/**
 * Fails, saying how to start one, unless a Redis answers at `url`: a Redis test never skips. A Redis that is not
 * running refuses at once; the connect timeout only bounds a slow answer, which a loaded machine can take seconds to
 * give (1 s failed a test on two busy cores).
 */
export const requireRedis = (url = redisUrl) =>
  Effect.acquireUseRelease(
    Effect.sync(() =>
      createClient({ url, socket: { connectTimeout: 10_000, reconnectStrategy: false } }).on("error", () => {})
    ),
    (client) =>
      Effect.tryPromise({
        try: () => client.connect().then((c) => c.ping()),
        catch: (e) => new Error(`No Redis answers at ${url} (${String(e)}): ${HOW_TO_START}`)
      }),
    (client) => Effect.sync(() => client.destroy())
  ).pipe(Effect.orDie)

/** A client of the test's own, for reading, breaking and repairing what a store keeps; closed with the scope. */
export const redisClient = (url = redisUrl) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      createClient({ url })
        .on("error", () => {})
        .connect()
    ),
    (client) => Effect.sync(() => client.destroy())
  )

/** Removes every key under `prefix`. */
export const removeKeys = (prefix: string, url = redisUrl) =>
  Effect.promise(async () => {
    const client = await createClient({ url })
      .on("error", () => {})
      .connect()
    try {
      const keys: Array<string> = []
      for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch)
      for (let i = 0; i < keys.length; i += 1000) await client.del(keys.slice(i, i + 1000))
    } finally {
      client.destroy()
    }
  })

/** A key prefix of its own for each registry a test builds, removed with it. */
export const testPrefix = () => `{test-${crypto.randomUUID()}}:`

/** What each store that tests have built and not yet closed has in flight (tests in a file run one at a time). */
const probes = new Set<Effect.Effect<number>>()

const store = Layer.scopedContext(
  Effect.gen(function* () {
    const { connection, pending, queue, registry } = yield* TaskRegistryRedis.make
    yield* Effect.acquireRelease(
      Effect.sync(() => probes.add(pending)),
      () => Effect.sync(() => probes.delete(pending))
    )
    return Context.make(TaskRegistry, registry).pipe(
      Context.add(TaskQueue, queue),
      Context.add(RedisConnection, connection)
    )
  })
)

/**
 * The Redis store with `TASK_CONCURRENCY` workers for the test kind, under a prefix of its own whose keys are removed
 * when the layer closes. Claims last a day unless `TASK_LEASE` says otherwise, so that moving the test clock on by
 * hours does not take back a claim whose renewal the clock skipped over; leases have tests of their own.
 */
export const redisRegistry = (env: Record<string, string>) => {
  // A prefix given is shared with other layers, and removed by whoever made it; one made here is this layer's own.
  const given = env["TASK_REDIS_PREFIX"]
  const prefix = given ?? testPrefix()
  // A test that names its own Redis (one it starts and stops) checks it itself.
  const cleanup = Layer.scopedDiscard(
    Effect.zipRight(
      env["REDIS_URL"] === undefined ? requireRedis() : Effect.void,
      given === undefined ? Effect.addFinalizer(() => removeKeys(prefix, env["REDIS_URL"])) : Effect.void
    )
  )
  const registry = Sweeper.layer.pipe(
    Layer.provideMerge(store),
    Layer.provide(TaskIdsHmac.layerConfig),
    Layer.provideMerge(RegistryConfig.layerConfig),
    Layer.provideMerge(RedisConfig.layerConfig),
    Layer.provide(cleanup)
  )
  return withEnv(
    TaskWorkers.layer(Script).pipe(
      Layer.provide(ScriptHandler),
      Layer.provideMerge(registry),
      Layer.provideMerge(Gates.layer)
    ),
    { REDIS_URL: redisUrl, TASK_LEASE: "86400", ...env, TASK_REDIS_PREFIX: prefix }
  )
}

/** Lets the store finish what it started: waits until nothing has been in flight for a few milliseconds. */
export const settle = Effect.gen(function* () {
  let quiet = 0
  for (let i = 0; i < 5_000 && quiet < 3; i++) {
    yield* Effect.yieldNow()
    let inFlight = 0
    for (const probe of probes) inFlight += yield* probe
    quiet = inFlight === 0 ? quiet + 1 : 0
    yield* TestServices.provideLive(Effect.sleep("1 millis"))
  }
})

/** A prefix for layers that share one store, its keys removed when the scope closes. */
export const sharedPrefix = Effect.acquireRelease(Effect.sync(testPrefix), (prefix) => removeKeys(prefix))

export const redisHarness: RegistryHarness = {
  layer: redisRegistry,
  advance: (duration) => Effect.zipRight(TestClock.adjust(duration), settle),
  shared: Effect.map(sharedPrefix, (prefix) => ({ TASK_REDIS_PREFIX: prefix }))
}

/** A redis-server of the test's own, on a free port, that the test can stop and start again; stopped with the scope. */
export const ownRedis = Effect.gen(function* () {
  const port = yield* Effect.promise(freePort)
  let child: ChildProcess | undefined
  const start = Effect.gen(function* () {
    child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore"
    })
    for (let attempt = 0; ; attempt++) {
      const up = yield* Effect.exit(requireRedis(`redis://127.0.0.1:${port}`))
      if (Exit.isSuccess(up) || attempt === 100) return yield* up
      yield* TestServices.provideLive(Effect.sleep("20 millis"))
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
