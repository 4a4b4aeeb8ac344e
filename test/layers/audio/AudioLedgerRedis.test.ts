import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import type { Context } from "effect"
import { Duration, Effect, Exit, Layer, TestClock } from "effect"
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { TaskId } from "../../../src/domain/TaskId.js"
import * as AudioLedgerRedis from "../../../src/layers/audio/AudioLedgerRedis.js"
import * as AudioRetention from "../../../src/layers/audio/AudioRetention.js"
import * as AudioStoreFs from "../../../src/layers/audio/AudioStoreFs.js"
import { RedisConnection } from "../../../src/layers/redis/Connection.js"
import { AudioLedger } from "../../../src/services/AudioLedger.js"
import { AudioStore } from "../../../src/services/AudioStore.js"
import { bytesOnDisk } from "../../support/disk.js"
import { tempAudioDir } from "../../support/http.js"
import { ownRedis, redisClient, redisRegistry, sharedPrefix, testPrefix } from "../../support/redis.js"
import { awaitStatus } from "../../support/registry.js"
import * as Jobs from "../../support/script.js"
import { Gates, newGate, submit } from "../../support/script.js"

// The audio ledger on Redis: processes that share a registry and one AUDIO_DIR share one count, and the budget holds
// for the directory. Two instances in one process, on one prefix and one directory, stand for two processes.

/** 0.1 s of 8 kHz audio: 1,644 bytes as a WAV file. */
const speech = { samples: new Int16Array(800), sampleRate: 8000 }
const WAV_BYTES = 44 + 1600

const budget = (maxBytes: number): AudioRetention.AudioRetentionConfig => ({
  retention: Duration.zero,
  maxBytes,
  interval: Duration.minutes(1)
})

/** One "process": its own registry instance, ledger, and store over the shared prefix and directory. */
const instance = (root: string, prefix: string, concurrency: number, env: Record<string, string> = {}) =>
  Layer.mergeAll(
    Layer.scoped(AudioStore, AudioStoreFs.make(root)).pipe(Layer.provide(NodeContext.layer)),
    AudioLedgerRedis.layer.pipe(
      Layer.provideMerge(redisRegistry({ ...env, TASK_REDIS_PREFIX: prefix, TASK_CONCURRENCY: String(concurrency) }))
    )
  )

type Instance = Context.Context<Layer.Layer.Success<ReturnType<typeof instance>>>

describe("the audio ledger on Redis", () => {
  it.scoped(
    "two instances on one prefix and one directory: the budget holds for the directory, one count for both",
    () =>
      Effect.gen(function* () {
        const root = tempAudioDir()
        const prefix = yield* sharedPrefix
        const a: Instance = yield* Layer.build(instance(root, prefix, 1))
        const b: Instance = yield* Layer.build(instance(root, prefix, 0))
        const maxBytes = 14 * WAV_BYTES
        const storeA = (yield* Effect.provide(AudioRetention.make(budget(maxBytes)), a)).store
        const storeB = (yield* Effect.provide(AudioRetention.make(budget(maxBytes)), b)).store

        // Finished tasks' audio, written by both, a second apart: 8 segments of the 14 the budget holds.
        const finished: Array<TaskId> = []
        for (let i = 0; i < 8; i++) {
          const id = yield* Effect.provide(
            Effect.gen(function* () {
              const task = yield* submit(Jobs.instant())
              yield* awaitStatus(task.id, "COMPLETED")
              return task.id
            }),
            a
          )
          yield* (i % 2 === 0 ? storeA : storeB).write(id, "s0", speech)
          finished.push(id)
          yield* TestClock.adjust("1 second")
        }
        // Four active tasks (one running on A, three waiting): their audio is never removed.
        const gate = newGate()
        const active = yield* Effect.provide(
          Effect.forEach(Array.from({ length: 4 }), () => Effect.map(submit(Jobs.gated(gate)), (t) => t.id)),
          a
        )
        let peak = 0
        const segmentsEach = 3
        const writeAll = (id: TaskId, i: number) =>
          Effect.forEach(
            Array.from({ length: segmentsEach }, (_, n) => `w${n}`),
            (segment) =>
              (i % 2 === 0 ? storeA : storeB)
                .write(id, segment, speech)
                .pipe(Effect.zipRight(Effect.sync(() => (peak = Math.max(peak, bytesOnDisk(root)))))),
            { discard: true }
          )
        yield* Effect.forEach(active, writeAll, { concurrency: "unbounded", discard: true })

        const writers = active.length
        expect(peak).toBeLessThanOrEqual(maxBytes + writers * WAV_BYTES)
        for (const id of active) expect(readdirSync(join(root, id)).length).toBe(segmentsEach)
        const kept = finished.filter((id) => existsSync(join(root, id)))
        expect(kept.length).toBeLessThan(finished.length)
        expect(kept).toEqual(finished.slice(finished.length - kept.length))
        // One figure for both, and it is the disk's.
        const usageA = yield* storeA.usage
        expect(yield* storeB.usage).toEqual(usageA)
        expect(usageA.bytes).toBe(bytesOnDisk(root))
        yield* Effect.provide(
          Effect.flatMap(Gates, (gates) => gates.open(gate)),
          a
        )
      }),
    60_000
  )

  it.scoped("a script given bad arguments changes nothing", () =>
    Effect.gen(function* () {
      const root = tempAudioDir()
      const prefix = yield* sharedPrefix
      const a: Instance = yield* Layer.build(instance(root, prefix, 0))
      yield* Effect.gen(function* () {
        const ledger = yield* AudioLedger
        const { call, prefix: P } = yield* RedisConnection
        yield* ledger.budget(10 * WAV_BYTES)
        const admitted = yield* ledger.reserve("t", WAV_BYTES)
        if (admitted._tag !== "Admitted") throw new Error(`not admitted: ${admitted._tag}`)
        yield* ledger.commit(admitted.token, "3f0c2a9e-1b7d-4c55-9d0e-2a6b8f1c4d3e", "s0", WAV_BYTES, 1)
        const keys = () =>
          call(async (c) => {
            const names = (await c.keys(`${P}a:*`)).sort()
            return Promise.all(names.map(async (k) => [k, await c.dump(k)]))
          })
        const before = yield* keys()
        for (const bad of [
          (c: Parameters<Parameters<typeof call>[0]>[0]) => c.audioReserve(P, ["tok", "-1", "0"]),
          (c: Parameters<Parameters<typeof call>[0]>[0]) => c.audioCommit(P, ["tok", "x", "../s", "1", "1"]),
          (c: Parameters<Parameters<typeof call>[0]>[0]) => c.audioReconcile(P, ["x", "1", "s1", "1", "s2", "many"]),
          (c: Parameters<Parameters<typeof call>[0]>[0]) => c.audioPick(P, ["x", "0", "1"])
        ]) {
          expect(Exit.isFailure(yield* Effect.exit(call(bad)))).toBe(true)
        }
        expect(yield* keys()).toEqual(before)
        expect(yield* ledger.usage).toEqual({ bytes: WAV_BYTES, tasks: 1 })
      }).pipe(Effect.provide(a))
    })
  )

  it.scoped(
    "a write while Redis is paused fails, saying why, and the next one after it answers is counted",
    () =>
      Effect.gen(function* () {
        const redis = yield* ownRedis
        yield* redis.start
        const root = tempAudioDir()
        const a: Instance = yield* Layer.build(instance(root, testPrefix(), 0, { REDIS_URL: redis.url }))
        const { store } = yield* Effect.provide(AudioRetention.make(budget(10 * WAV_BYTES)), a)
        const id = TaskId.make("3f0c2a9e-1b7d-4c55-9d0e-2a6b8f1c4d3e")
        yield* store.write(id, "s0", speech)
        const admin = yield* redisClient(redis.url)
        // Longer than the store's five-second command timeout.
        yield* Effect.promise(() => admin.sendCommand(["CLIENT", "PAUSE", "8000", "ALL"]))
        const refused = yield* Effect.flip(store.write(id, "s1", speech))
        expect(refused.message).toContain("audio budget cannot be checked")
        expect(existsSync(join(root, id, "s1.wav"))).toBe(false)
        yield* Effect.promise(() => admin.sendCommand(["CLIENT", "UNPAUSE"]))
        yield* store.write(id, "s2", speech)
        expect(yield* store.usage).toEqual({ bytes: 2 * WAV_BYTES, tasks: 1 })
        expect(bytesOnDisk(root)).toBe(2 * WAV_BYTES)
      }),
    60_000
  )
})
