import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Schema, Scope } from "effect"
import * as TaskKind from "../../../src/domain/TaskKind.js"
import { CLIENT_NAME } from "../../../src/layers/redis/WakeUps.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import { ownRedis, redisClient, redisRegistry, testPrefix } from "../../support/redis.js"
import { logCapture } from "../../support/logs.js"
import { awaitStatus, eventually } from "../../support/registry.js"
import * as Jobs from "../../support/script.js"
import { Script, submit } from "../../support/script.js"

// Wake-ups on Redis, in real time on a redis-server of each test's own (its command counts are the test's alone, and
// it can be made to refuse connections): idle workers cost Redis next to nothing, a task submitted to idle processes
// starts at once, and a wake-up lost with a connection is made good when the connection is back.

/** Builds a registry in a scope of its own: a process that can be stopped (its log lines to `logs` if given). */
const process_ = (env: Record<string, string>, logs: Layer.Layer<never> = Layer.empty) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    return yield* Layer.buildWithScope(redisRegistry(env).pipe(Layer.provide(logs)), scope)
  })

/** The test's own connection to the Redis at `url`, for the scope: one command at a time. */
const testClient = (url: string) =>
  Effect.map(
    redisClient(url),
    (client) => (args: ReadonlyArray<string>) => Effect.promise(() => client.sendCommand([...args]))
  )
type Send = Effect.Effect.Success<ReturnType<typeof testClient>>

/** The clients connected, each as its `CLIENT LIST` fields. */
const clients = (send: Send) =>
  Effect.map(send(["CLIENT", "LIST"]), (reply) =>
    String(reply)
      .trim()
      .split("\n")
      .map((line) => Object.fromEntries(line.split(" ").map((field) => field.split("=", 2) as [string, string])))
  )

/** Waits until `count` blocking waits for wake-ups are made. */
const waiting = (send: Send, count: number) =>
  eventually(
    clients(send),
    (list) => list.filter((c) => c["name"] === CLIENT_NAME && c["cmd"] === "bzpopmin").length === count
  )

/** Commands Redis has run since its statistics were reset, by name. */
const commandCounts = (send: Send) =>
  Effect.map(send(["INFO", "commandstats"]), (reply) => {
    const counts: Record<string, number> = {}
    for (const [, name, calls] of String(reply).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
      counts[name!] = Number(calls)
    }
    return counts
  })

/** A kind that no worker runs. */
const Unrun = TaskKind.make({ name: "test.unrun", payload: Schema.Struct({}), total: () => 1 })

describe("TaskRegistryRedis: wake-ups", () => {
  it.live(
    "1,000 idle workers cost Redis at most 10 commands a second, and a wake-up marker stays one key",
    () =>
      Effect.gen(function* () {
        const redis = yield* ownRedis
        yield* redis.start
        const send = yield* testClient(redis.url)
        const prefix = testPrefix()
        yield* process_({ REDIS_URL: redis.url, TASK_REDIS_PREFIX: prefix, TASK_CONCURRENCY: "1000", TASK_LEASE: "30" })
        // Each worker claims once as it starts, then goes idle.
        yield* eventually(commandCounts(send), (counts) => (counts["evalsha"] ?? 0) >= 1000)
        yield* Effect.sleep("1 second")
        yield* send(["CONFIG", "RESETSTAT"])
        // A measure over a window of real time, not a deadline: the rate is what is asserted.
        const seconds = 3
        yield* Effect.sleep(`${seconds} seconds`)
        const counts = yield* commandCounts(send)
        const { "config|resetstat": _reset, ...others } = counts
        const total = Object.values(others).reduce((a, b) => a + b, 0)
        expect(total / seconds, JSON.stringify(others)).toBeLessThanOrEqual(10)

        // Tasks of a kind no worker runs here leave one marker, not one per task.
        const other = yield* process_({ REDIS_URL: redis.url, TASK_REDIS_PREFIX: prefix, TASK_CONCURRENCY: "0" })
        const registry = yield* Effect.provide(TaskRegistry, other)
        for (let i = 0; i < 100; i++) yield* registry.submit(Unrun, {})
        expect(yield* send(["ZCARD", `${prefix}w:test.unrun`])).toBe(1)
        expect(yield* send(["ZCARD", `${prefix}q:test.unrun`])).toBe(100)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a task submitted to idle processes starts within 50 ms",
    () =>
      Effect.gen(function* () {
        const redis = yield* ownRedis
        yield* redis.start
        const send = yield* testClient(redis.url)
        const shared = { REDIS_URL: redis.url, TASK_REDIS_PREFIX: testPrefix() }
        yield* process_({ ...shared, TASK_CONCURRENCY: "4" })
        yield* process_({ ...shared, TASK_CONCURRENCY: "4" })
        const submitter = yield* process_({ ...shared, TASK_CONCURRENCY: "0" })
        const latencies: Array<number> = []
        for (let i = 0; i < 10; i++) {
          yield* waiting(send, 2)
          const task = yield* submit(Jobs.instant()).pipe(Effect.provide(submitter))
          const done = yield* awaitStatus(task.id, "COMPLETED").pipe(Effect.provide(submitter))
          if (done._tag === "COMPLETED") latencies.push(done.startedAt - done.createdAt)
        }
        latencies.sort((a, b) => a - b)
        // Real time on a shared machine: the typical start within 50 ms, and none slow enough to be a poll.
        expect(latencies[Math.floor(latencies.length / 2)], String(latencies)).toBeLessThanOrEqual(50)
        expect(latencies.at(-1), String(latencies)).toBeLessThan(500)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a wake-up lost with the blocking connection is made good once the connection is back",
    () =>
      Effect.gen(function* () {
        const redis = yield* ownRedis
        yield* redis.start
        const send = yield* testClient(redis.url)
        const prefix = testPrefix()
        const shared = { REDIS_URL: redis.url, TASK_REDIS_PREFIX: prefix }
        yield* process_({ ...shared, TASK_CONCURRENCY: "2" })
        const submitter = yield* process_({ ...shared, TASK_CONCURRENCY: "0" })
        const registry = yield* Effect.provide(TaskRegistry, submitter)
        yield* waiting(send, 1)
        const list = yield* clients(send)
        const blocking = list.find((c) => c["name"] === CLIENT_NAME)!
        // The blocking connection drops and cannot come back yet; a task is submitted, and its marker taken, as a
        // wait whose answer was lost with the connection would have taken it.
        yield* send(["CONFIG", "SET", "maxclients", String(list.length - 1)])
        yield* send(["CLIENT", "KILL", "ID", blocking["id"]!])
        const task = yield* submit(Jobs.instant()).pipe(Effect.provide(submitter))
        const taken = yield* send(["ZPOPMIN", `${prefix}w:${Script.name}`])
        expect(Array.isArray(taken) && taken[0]).toBe("w")
        yield* Effect.sleep("300 millis")
        expect((yield* registry.get(task.id))._tag).toBe("PENDING")
        // The connection comes back: one check, and the task runs, well before a wait could have timed out (5 s) and
        // looked for it.
        yield* send(["CONFIG", "SET", "maxclients", "10000"])
        const back = Date.now()
        yield* awaitStatus(task.id, "COMPLETED").pipe(Effect.provide(submitter))
        expect(Date.now() - back).toBeLessThan(4_000)
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a wake-up taken by a process that stopped answering is made good by another process's look",
    () =>
      Effect.gen(function* () {
        const redis = yield* ownRedis
        yield* redis.start
        const prefix = testPrefix()
        // A process frozen in the middle of its wait (paused, starved): first in line for the marker, it takes it
        // and never wakes anyone.
        const frozen = yield* redisClient(redis.url)
        const taken = frozen.bzPopMin(`${prefix}w:${Script.name}`, 0).catch(() => null)
        const send = yield* testClient(redis.url)
        yield* eventually(clients(send), (list) => list.some((c) => c["cmd"] === "bzpopmin"))
        const context = yield* process_({ REDIS_URL: redis.url, TASK_REDIS_PREFIX: prefix, TASK_CONCURRENCY: "2" })
        yield* waiting(send, 1)
        const task = yield* submit(Jobs.instant()).pipe(Effect.provide(context))
        expect(yield* Effect.promise(() => taken)).toMatchObject({ value: "w" })
        // Within one blocking wait (5 s) and a claim.
        yield* awaitStatus(task.id, "COMPLETED").pipe(Effect.provide(context))
      }).pipe(Effect.scoped),
    60_000
  )

  it.live(
    "a wait Redis refuses is tried again with back-off and said once, naming the reply, until it is answered",
    () =>
      Effect.gen(function* () {
        const redis = yield* ownRedis
        yield* redis.start
        const send = yield* testClient(redis.url)
        const prefix = testPrefix()
        const { layer: logs, lines } = logCapture()
        const context = yield* process_(
          { REDIS_URL: redis.url, TASK_REDIS_PREFIX: prefix, TASK_CONCURRENCY: "2" },
          logs
        )
        // Connected and waiting; then the marker's key comes to hold a string, and the wait is cut short: every
        // BZPOPMIN on that key is refused with WRONGTYPE from now on.
        yield* waiting(send, 1)
        const blocking = (yield* clients(send)).find((c) => c["name"] === CLIENT_NAME)!
        const marker = `${prefix}w:${Script.name}`
        yield* send(["SET", marker, "not a sorted set"])
        yield* send(["CLIENT", "UNBLOCK", blocking["id"]!])
        const refused = () =>
          lines.filter(
            (l) => l.level === "WARN" && l.message.startsWith("Waiting for wake-ups") && /WRONGTYPE/.test(l.cause ?? "")
          )
        yield* eventually(Effect.sync(refused), (found) => found.length > 0)
        yield* send(["CONFIG", "RESETSTAT"])
        // A measure over a window of real time, not a deadline: the rate is what is asserted.
        yield* Effect.sleep("3 seconds")
        const tries = (yield* commandCounts(send))["bzpopmin"] ?? 0
        expect(tries / 3).toBeLessThan(10)
        expect(refused()).toHaveLength(1)
        // Answered again: the workers wake for the next task, and the loop says it recovered.
        const before = lines.length
        yield* send(["DEL", marker])
        const task = yield* submit(Jobs.instant()).pipe(Effect.provide(context))
        yield* awaitStatus(task.id, "COMPLETED").pipe(Effect.provide(context))
        expect(
          lines
            .slice(before)
            .some((l) => l.level === "INFO" && /^Waiting for wake-ups .* recovered after \d+ failure/.test(l.message))
        ).toBe(true)
      }).pipe(Effect.scoped),
    60_000
  )
})
