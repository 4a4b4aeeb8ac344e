import { describe, expect, it } from "@effect/vitest"
import { createClient } from "@redis/client"
import { Cause, Effect, Exit, Layer, Option } from "effect"
import * as Task from "../../../src/domain/Task.js"
import * as Scripts from "../../../src/layers/redis/Scripts.js"
import { TaskQueue } from "../../../src/services/TaskQueue.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import { redisClient, redisRegistry, redisUrl, sharedPrefix } from "../../support/redis.js"
import { Script } from "../../support/script.js"
import * as Jobs from "../../support/script.js"

// The scripts one by one, fed what they must refuse: an unknown id, a stale claim token, a kind no task has, a
// finished task, malformed arguments. Each refusal must leave every key and every count as it was (a script checks
// before its first write), and an error must name its script.

/** Every key under `prefix` with its type and whole content, in a form that compares. */
const snapshot = (prefix: string) =>
  Effect.promise(async () => {
    const client = await createClient({ url: redisUrl }).connect()
    try {
      const keys: Array<string> = []
      for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...batch)
      const out: Record<string, unknown> = {}
      for (const key of keys.sort()) {
        const type = await client.type(key)
        out[key] =
          type === "hash"
            ? await client.hGetAll(key)
            : type === "zset"
              ? await client.zRangeWithScores(key, 0, -1)
              : await client.sendCommand(["DUMP", key])
      }
      return out
    } finally {
      client.destroy()
    }
  })

/** Runs a script's text directly, as Redis would be sent it, with its prefix and arguments. */
const evalScript = (script: string, prefix: string, args: ReadonlyArray<string>) =>
  Effect.promise(async () => {
    const client = await createClient({ url: redisUrl }).connect()
    try {
      return await client.eval(script, { keys: [prefix], arguments: [...args] }).then(
        (reply) => ({ reply }),
        (error: unknown) => ({ error: String(error) })
      )
    } finally {
      client.destroy()
    }
  })

describe("the Redis scripts, fed bad input", () => {
  it.scoped("refuse it having changed nothing, and name themselves when they error", () =>
    Effect.gen(function* () {
      const prefix = yield* sharedPrefix
      const context = yield* Layer.build(redisRegistry({ TASK_REDIS_PREFIX: prefix, TASK_CONCURRENCY: "0" }))
      const registry = yield* Effect.provide(TaskRegistry, context)
      const queue = yield* Effect.provide(TaskQueue, context)
      // A registry with a task of each kind of state: waiting, running (one segment in), finished.
      const waiting = yield* registry.submit(Script, Jobs.instant(2))
      const running = yield* registry.submit(Script, Jobs.instant(2))
      const finished = yield* registry.submit(Script, Jobs.instant(1))
      const claimOf = (token: string) => Effect.map(queue.claim([Script.name], token), (c) => Option.getOrThrow(c))
      const done = yield* claimOf("token-done")
      const live = yield* claimOf("token-live")
      expect([done.id, live.id]).toEqual([waiting.id, running.id])
      yield* queue.report(live, 1, {
        _tag: "SegmentDone",
        segment: new Task.CompletedSegment({ segmentId: "s0", audioUrl: "/a", durationSeconds: 1 })
      })
      yield* queue.finish(done, { _tag: "Succeeded" })
      const before = yield* snapshot(prefix)
      const unchanged = Effect.flatMap(snapshot(prefix), (after) => Effect.sync(() => expect(after).toEqual(before)))

      const segment = JSON.stringify({ segmentId: "s9", audioUrl: "/a", durationSeconds: 1 })
      const refusals: ReadonlyArray<readonly [string, string, ReadonlyArray<string>, unknown]> = [
        ["report: unknown id", Scripts.report, ["0", "o", "no-such-id", "token-live", "2", "D", segment], "lost"],
        ["report: stale token", Scripts.report, ["0", "o", live.id, "stale", "2", "D", segment], "lost"],
        ["report: finished task", Scripts.report, ["0", "o", done.id, "token-done", "2", "D", segment], "lost"],
        ["report: again", Scripts.report, ["0", "o", live.id, "token-live", "1", "D", segment], "again"],
        ["finish: unknown id", Scripts.finish, ["0", "o", "no-such-id", "t", "ok", ""], [0, "lost"]],
        ["finish: stale token", Scripts.finish, ["0", "o", live.id, "stale", "ok", ""], [0, "lost"]],
        ["finish: finished task", Scripts.finish, ["0", "o", done.id, "token-done", "ok", ""], [0, "lost"]],
        ["claim: a kind no task has", Scripts.claim, ["0", "o", "fresh-token", "1000", "other.kind"], null],
        ["claim: retried token", Scripts.claim, ["0", "o", "token-live", "1000", "other.kind"], "record"],
        ["cancel: unknown id", Scripts.cancel, ["0", "o", "no-such-id", '"why"'], [0, "unknown"]],
        ["cancel: finished task", Scripts.cancel, ["0", "o", done.id, '"why"'], [0, "finished", "COMPLETED"]],
        ["renew: stale token", Scripts.renew, ["0", "o", "1000", live.id, "stale"], ["stale"]],
        ["read: unknown id", Scripts.read, ["0", "o", "no-such-id"], [0, "unknown"]],
        ["wake: kinds with no task waiting", Scripts.wake, ["0", "o", "other.kind", "no.kind"], 0],
        // A marker is one member however often it is set: setting it again changes nothing.
        ["wake: a kind whose marker is set", Scripts.wake, ["0", "o", Script.name, "other.kind"], 1]
      ]
      for (const [what, script, args, expected] of refusals) {
        const { reply } = (yield* evalScript(script, prefix, args)) as { reply: unknown }
        if (expected === "record") expect(JSON.parse(String(reply)), what).toMatchObject({ id: live.id, version: 3 })
        else expect(reply, what).toEqual(expected)
        yield* unchanged
      }

      const errors: ReadonlyArray<readonly [string, string, ReadonlyArray<string>]> = [
        ["report.lua", Scripts.report, ["0", "o", live.id, "token-live", "zero", "D", segment]],
        ["report.lua", Scripts.report, ["0", "o", live.id, "token-live", "2", "Q", segment]],
        ["finish.lua", Scripts.finish, ["0", "o", live.id, "token-live", "explode", ""]],
        ["finish.lua", Scripts.finish, ["0", "o", live.id, "token-live", "fail", "not json"]],
        ["cancel.lua", Scripts.cancel, ["0", "o", finished.id, "not json"]]
      ]
      for (const [name, script, args] of errors) {
        const { error } = (yield* evalScript(script, prefix, args)) as { error?: string }
        expect(error, `${name} ${args.join(" ")}`).toContain(name)
        yield* unchanged
      }

      // Through the store, an error reply is a defect that names the script.
      const exit = yield* Effect.exit(
        queue.report(live, 0, { _tag: "SegmentFailed", error: { segmentId: "s", message: "m" } })
      )
      expect(Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "it succeeded").toContain("report.lua")
      yield* unchanged
    })
  )

  it.scoped("set a kind's wake-up marker when a task starts waiting, and again after a claim that leaves some", () =>
    Effect.gen(function* () {
      const prefix = yield* sharedPrefix
      const context = yield* Layer.build(redisRegistry({ TASK_REDIS_PREFIX: prefix, TASK_CONCURRENCY: "0" }))
      const registry = yield* Effect.provide(TaskRegistry, context)
      const queue = yield* Effect.provide(TaskQueue, context)
      const marker = `${prefix}w:${Script.name}`
      const client = yield* redisClient()
      const markers = Effect.promise(() => client.zCard(marker))
      const take = Effect.promise(() => client.del(marker))

      yield* registry.submit(Script, Jobs.instant())
      yield* registry.submit(Script, Jobs.instant())
      expect(yield* markers).toBe(1)
      yield* take
      // A claim that leaves a task waiting wakes another worker for it; the last claim wakes no one.
      const first = Option.getOrThrow(yield* queue.claim([Script.name, "other.kind"], "t1"))
      expect(yield* markers).toBe(1)
      yield* take
      yield* queue.claim([Script.name], "t2")
      expect(yield* markers).toBe(0)
      // A task handed back waits again: a worker is woken for it.
      yield* queue.finish(first, { _tag: "Shutdown" })
      expect(yield* markers).toBe(1)
    })
  )
})
