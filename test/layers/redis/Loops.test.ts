import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel } from "effect"
import type { TaskId } from "../../../src/domain/TaskId.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import type { CapturedLog } from "../../support/logs.js"
import { logCapture } from "../../support/logs.js"
import { ownRedis, redisClient, redisRegistry, redisUrl, sharedPrefix, testPrefix } from "../../support/redis.js"
import { eventually } from "../../support/registry.js"
import { endless, gated, Gates, newGate, submit } from "../../support/script.js"

/** Waits (in real time, up to `seconds`) until a captured line satisfies `holds`; answers when it was seen. */
const lineSeen = (lines: ReadonlyArray<CapturedLog>, holds: (line: CapturedLog) => boolean, seconds = 8) =>
  Effect.gen(function* () {
    for (let waited = 0; waited < seconds * 1000; waited += 20) {
      if (lines.some(holds)) return Date.now()
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.dieMessage(`no such log line within ${seconds} s`)
  })

/** The lines of loop `name`: its Warnings, the tries after the first of a streak (Debug), its recoveries. */
const loopLines = (lines: ReadonlyArray<CapturedLog>, name: string) => ({
  warnings: lines.filter((l) => l.level === "WARN" && l.message.startsWith(name)),
  retries: lines.filter((l) => l.message.startsWith(`${name} failed again`)),
  recoveries: lines.filter((l) => l.message.startsWith(`${name} recovered`))
})

describe("TaskRegistryRedis loops", () => {
  it.live("reaping goes on when its script errors, backing off, with one Warning, and recovers", () => {
    const { layer, lines } = logCapture()
    return Effect.gen(function* () {
      const prefix = yield* sharedPrefix
      const client = yield* redisClient(redisUrl)
      // The claims index as a string: the reap script fails with WRONGTYPE, a defect of the store.
      yield* Effect.promise(() => client.set(`${prefix}claims`, "not a sorted set"))
      yield* Layer.build(redisRegistry({ TASK_REDIS_PREFIX: prefix, TASK_LEASE: "1.2", TASK_CONCURRENCY: "1" }))
      const firstFailure = yield* lineSeen(lines, (l) => l.level === "WARN" && l.message.startsWith("Reaping"))
      yield* Effect.sleep(`${Math.max(0, firstFailure + 2_000 - Date.now())} millis`)
      const failing = loopLines(lines, "Reaping expired claims")
      expect(failing.warnings).toHaveLength(1)
      expect(failing.warnings[0]!.cause).toContain("WRONGTYPE")
      // Tries at most every 200 ms (the reap's interval caps its back-off): under 10 a second, over 2 s.
      expect(1 + failing.retries.length).toBeLessThan(20)
      expect(1 + failing.retries.length).toBeGreaterThan(3)
      yield* Effect.promise(() => client.del(`${prefix}claims`))
      yield* lineSeen(lines, (l) => l.message.startsWith("Reaping expired claims recovered"))
      expect(loopLines(lines, "Reaping expired claims")).toMatchObject({
        warnings: { length: 1 },
        recoveries: { length: 1 }
      })
    }).pipe(Effect.scoped, Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug))
  })

  it.live(
    "renewing goes on when its script errors, backing off, with one Warning, and recovers within the lease",
    () => {
      const { layer, lines } = logCapture()
      return Effect.gen(function* () {
        const prefix = yield* sharedPrefix
        const client = yield* redisClient(redisUrl)
        // A lease of 6 s is renewed every second, and retried at most every second while renewing fails; one worker.
        const context = yield* Layer.build(
          redisRegistry({ TASK_REDIS_PREFIX: prefix, TASK_LEASE: "6", TASK_CONCURRENCY: "1" })
        )
        const registry = yield* Effect.provide(TaskRegistry, context)
        const gate = newGate("renewed")
        const task = yield* submit(gated(gate)).pipe(Effect.provide(context))
        const claimed = yield* eventually(registry.get(task.id), (t) => t._tag === "PROCESSING")
        const deadline = () => Effect.promise(() => client.zScore(`${prefix}claims`, task.id))

        // The index from claim tokens to ids (which only renewing reads while the one worker runs its task) as a
        // string: the renew script fails with WRONGTYPE, a defect of the store. Claims and reaps are untouched.
        yield* Effect.promise(() => client.rename(`${prefix}tok`, `${prefix}tok-kept`))
        yield* Effect.promise(() => client.set(`${prefix}tok`, "not a hash"))
        const firstFailure = yield* lineSeen(lines, (l) => l.level === "WARN" && l.message.startsWith("Renewing"))
        yield* Effect.sleep("2 seconds")
        const failing = loopLines(lines, "Renewing claims")
        expect(failing.warnings).toHaveLength(1)
        expect(failing.warnings[0]!.cause).toContain("WRONGTYPE")
        // Tries after 0.1, 0.2, 0.4 s, then every second (the renewal's interval caps its back-off): some 5 in the
        // 2 s, under 10 a second, and more than one or two.
        const tries = 1 + failing.retries.length
        expect(tries).toBeGreaterThan(2)
        expect(tries).toBeLessThan(20)

        // The lease as the last renewal that worked left it: none can change it while the index is broken.
        const before = yield* deadline()
        yield* Effect.promise(() => client.del(`${prefix}tok`))
        yield* Effect.promise(() => client.rename(`${prefix}tok-kept`, `${prefix}tok`))
        const recovered = yield* lineSeen(lines, (l) => l.message.startsWith("Renewing claims recovered"), 4)
        // Repaired well within the lease (6 s from the last renewal): the claim was renewed again, never taken back.
        expect(recovered - firstFailure).toBeLessThan(5_000)
        const after = yield* deadline()
        expect(after).toBeGreaterThan(before!)
        expect(loopLines(lines, "Renewing claims")).toMatchObject({
          warnings: { length: 1 },
          recoveries: { length: 1 }
        })
        const still = yield* registry.get(task.id)
        expect(still).toMatchObject({
          _tag: "PROCESSING",
          attempts: 1,
          claim: claimed._tag === "PROCESSING" && claimed.claim
        })

        yield* Effect.flatMap(Gates, (gates) => gates.open(gate)).pipe(Effect.provide(context))
        const done = yield* eventually(registry.get(task.id), (t) => t._tag !== "PROCESSING")
        // Claimed, one segment, completed: a claim taken back would have run again, at a second attempt.
        expect(done).toMatchObject({ _tag: "COMPLETED", version: 4 })
        expect(lines.filter((l) => l.message.includes("Took back"))).toEqual([])
      }).pipe(Effect.scoped, Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug))
    }
  )

  it.live(
    "subscribing goes on when SUBSCRIBE is refused, backing off, with one Warning, then stops the run cancelled meanwhile and hears cancels",
    () => {
      const { layer, lines } = logCapture()
      return Effect.gen(function* () {
        const redis = yield* ownRedis
        yield* redis.start
        const client = yield* redisClient(redis.url)
        const env = { REDIS_URL: redis.url, TASK_REDIS_PREFIX: testPrefix() }
        // Another process, subscribed before SUBSCRIBE is refused, that cancels this one's tasks.
        const other = yield* Layer.build(redisRegistry({ ...env, TASK_CONCURRENCY: "0" }))
        const cancel = (id: TaskId) => Effect.flatMap(TaskRegistry, (r) => r.cancel(id)).pipe(Effect.provide(other))

        // Every connection may still run commands, publish included; none may subscribe.
        yield* Effect.promise(() => client.sendCommand(["ACL", "SETUSER", "default", "-subscribe"]))
        const here = yield* Layer.build(redisRegistry({ ...env, TASK_CONCURRENCY: "2" }))
        const registry = yield* Effect.provide(TaskRegistry, here)
        const gates = yield* Effect.provide(Gates, here)
        const firstFailure = yield* lineSeen(
          lines,
          (l) => l.level === "WARN" && l.message.startsWith("Subscribing to change notices")
        )

        // While deaf, a cancel made elsewhere does not reach the worker running the task (its lease is a day long, so
        // no renewal tells it either).
        const unheard = newGate("unheard")
        const first = yield* submit(endless(unheard)).pipe(Effect.provide(here))
        yield* eventually(registry.get(first.id), (t) => t._tag === "PROCESSING")
        yield* cancel(first.id)
        const untilWindowEnds = firstFailure + 2_000 - Date.now()
        yield* Effect.sleep(`${Math.max(1_000, untilWindowEnds)} millis`)
        expect(yield* gates.isOpen(unheard)).toBe(false)

        const failing = loopLines(lines, "Subscribing to change notices")
        expect(failing.warnings).toHaveLength(1)
        expect(failing.warnings[0]!.cause).toContain("NOPERM")
        // Tries after 0.1, 0.2, 0.4, 0.8 s: some 5 in the first 2 s, under 10 a second, and more than one or two.
        const tries = 1 + failing.retries.length
        expect(tries).toBeGreaterThan(2)
        expect(tries).toBeLessThan(20)

        yield* Effect.promise(() => client.sendCommand(["ACL", "SETUSER", "default", "+subscribe"]))
        yield* lineSeen(lines, (l) => l.message.startsWith("Subscribing to change notices recovered"))
        expect(loopLines(lines, "Subscribing to change notices")).toMatchObject({
          warnings: { length: 1 },
          recoveries: { length: 1 }
        })
        // Subscribed again, it reads what it may have missed: the run cancelled while it was deaf stops now, not at a
        // renewal a sixth of a day away.
        yield* eventually(gates.isOpen(unheard), (open) => open)

        // Subscribed: a cancel made by the other process interrupts the run here.
        const heard = newGate("heard")
        const second = yield* submit(endless(heard)).pipe(Effect.provide(here))
        yield* eventually(registry.get(second.id), (t) => t._tag === "PROCESSING")
        yield* cancel(second.id)
        yield* eventually(gates.isOpen(heard), (open) => open)
      }).pipe(Effect.scoped, Effect.provide(layer), Logger.withMinimumLogLevel(LogLevel.Debug))
    }
  )
})
