import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, TestClock } from "effect"
import { existsSync, mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import * as AudioLedgerMemory from "../../../src/layers/audio/AudioLedgerMemory.js"
import * as AudioRetention from "../../../src/layers/audio/AudioRetention.js"
import * as AudioStoreFs from "../../../src/layers/audio/AudioStoreFs.js"
import { AudioLedger } from "../../../src/services/AudioLedger.js"
import { AudioStore } from "../../../src/services/AudioStore.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import { tempAudioDir } from "../../support/http.js"
import { logCapture } from "../../support/logs.js"
import { awaitStatus, eventually, memoryRegistry } from "../../support/registry.js"
import * as Jobs from "../../support/script.js"
import { Gates, newGate, submit } from "../../support/script.js"

/** 0.1 s of 8 kHz audio: 1,644 bytes as a WAV file. */
const speech = { samples: new Int16Array(800), sampleRate: 8000 }
const WAV_BYTES = 44 + 1600

const config = (retention: Duration.DurationInput, maxBytes = 0): AudioRetention.AudioRetentionConfig => ({
  retention: Duration.decode(retention),
  maxBytes,
  interval: Duration.minutes(1)
})

/** The store under `root`, counted by the ledger (from the disk at start, then as it writes), with no policy. */
const setup = (root: string, env: Record<string, string> = {}) =>
  Layer.effect(
    AudioStore,
    Effect.flatMap(AudioRetention.make(config(0)), (policy) => Effect.as(policy.reconcile, policy.store))
  ).pipe(
    Layer.provide(Layer.scoped(AudioStore, AudioStoreFs.make(root)).pipe(Layer.provide(NodeContext.layer))),
    Layer.provideMerge(
      Layer.fresh(AudioLedgerMemory.layer).pipe(
        Layer.provideMerge(memoryRegistry({ TASK_CLEANUP_INTERVAL: "0", ...env }))
      )
    )
  )

/** A finished task with `segments` files of audio, written now. */
const finishedWithAudio = (segments = 1) =>
  Effect.gen(function* () {
    const store = yield* AudioStore
    const task = yield* submit(Jobs.instant())
    yield* awaitStatus(task.id, "COMPLETED")
    for (let i = 0; i < segments; i++) yield* store.write(task.id, `s${i}`, speech)
    return task.id
  })

describe("audio retention", () => {
  it.effect("removes a finished task's audio once past AUDIO_RETENTION, never a running task's", () => {
    const root = tempAudioDir()
    return Effect.gen(function* () {
      const store = yield* AudioStore
      const done = yield* finishedWithAudio(2)
      const gate = newGate()
      const running = yield* submit(Jobs.gated(gate))
      yield* awaitStatus(running.id, "PROCESSING")
      yield* store.write(running.id, "s0", speech)
      expect(yield* store.usage).toEqual({ bytes: 3 * WAV_BYTES, tasks: 2 })
      yield* TestClock.adjust("1 day")
      expect(yield* AudioRetention.prune(config("1 day"))).toEqual([])
      yield* TestClock.adjust("1 millis")
      expect(yield* AudioRetention.prune(config("1 day"))).toEqual([done])
      expect(existsSync(join(root, done))).toBe(false)
      expect(yield* Effect.flip(store.locate(done, "s0"))).toMatchObject({ _tag: "AudioNotFound" })
      expect(yield* store.usage).toEqual({ bytes: WAV_BYTES, tasks: 1 })
      // Once the running task has finished, its audio ages like any other.
      yield* (yield* Gates).open(gate)
      yield* awaitStatus(running.id, "COMPLETED")
      expect(yield* AudioRetention.prune(config("1 day"))).toEqual([running.id])
    }).pipe(Effect.provide(setup(root)))
  })

  it.effect("keeps at most AUDIO_MAX_BYTES, removing the least recently written task's audio first", () =>
    Effect.gen(function* () {
      const store = yield* AudioStore
      const ids = []
      for (let i = 0; i < 3; i++) {
        ids.push(yield* finishedWithAudio())
        yield* TestClock.adjust("1 second")
      }
      expect(yield* AudioRetention.prune(config(0, 2 * WAV_BYTES))).toEqual([ids[0]])
      expect((yield* store.holdings).map((h) => h.taskId)).toEqual([ids[1], ids[2]])
      expect(yield* AudioRetention.prune(config(0, 2 * WAV_BYTES))).toEqual([])
    }).pipe(Effect.provide(setup(tempAudioDir())))
  )

  it.effect("indexes what an earlier run left, and never touches a directory that is not a task's", () => {
    const root = tempAudioDir()
    const old = "3f0c2a9e-1b7d-4c55-9d0e-2a6b8f1c4d3e"
    for (const dir of [old, "not-a-task"]) {
      mkdirSync(join(root, dir))
      writeFileSync(join(root, dir, "s1.wav"), new Uint8Array(100))
    }
    return Effect.gen(function* () {
      const store = yield* AudioStore
      // The count is made from the disk, of task directories only, before the policy applies.
      expect(yield* AudioRetention.prune(config("1 day"))).toEqual([])
      expect(yield* store.usage).toEqual({ bytes: 100, tasks: 1 })
      // Written by a run the registry does not know of, long before the test clock's epoch.
      yield* TestClock.setTime(Date.parse("2100-01-01"))
      expect(yield* AudioRetention.prune(config("1 day"))).toEqual([old])
      expect(existsSync(join(root, "not-a-task", "s1.wav"))).toBe(true)
    }).pipe(Effect.provide(setup(root)))
  })

  it.effect("applies the policy every minute in its layer's scope", () =>
    Effect.gen(function* () {
      const store = yield* AudioStore
      yield* finishedWithAudio()
      yield* Effect.gen(function* () {
        yield* TestClock.adjust("59 seconds")
        expect((yield* store.usage).tasks).toBe(1)
        yield* TestClock.adjust("1 second")
        // Due now; the files themselves go on the real disk, which takes a moment on a busy machine.
      }).pipe(Effect.provide(AudioRetention.layer(config("30 seconds"))))
      const registry = yield* TaskRegistry
      expect((yield* registry.stats).finished).toBe(1)
    }).pipe(Effect.provide(setup(tempAudioDir())))
  )

  it.effect(
    "after a restart, removes the audio of a task the registry no longer holds once past AUDIO_RETENTION",
    () => {
      const root = tempAudioDir()
      // Ids signed under one key, as the server's are across restarts: the second run recognises the first's id and
      // answers TaskNoLongerHeld for it, which is as final as a finished record.
      const env = { TASK_ID_SECRET: "a-secret-of-at-least-32-characters-for-ids" }
      const firstRun = Effect.gen(function* () {
        return yield* finishedWithAudio(2)
      }).pipe(Effect.provide(setup(root, env)))
      return Effect.gen(function* () {
        const old = yield* firstRun
        yield* Effect.gen(function* () {
          const store = yield* AudioStore
          const registry = yield* TaskRegistry
          expect(yield* Effect.flip(registry.get(old))).toMatchObject({ _tag: "TaskNoLongerHeld" })
          yield* eventually(store.usage, (usage) => usage.tasks === 1)
          // The files' times are the disk's (real time); a second past them the retention of one second is over.
          yield* TestClock.setTime(Date.now() + 2_000)
          yield* Effect.gen(function* () {
            // A minute at a time until the run has removed it: the retention fiber may not be waiting on the clock
            // yet when the first minute passes (it starts beside this fiber, and counts the disk first).
            // Waits for both the files, which go from the real disk, and the count, whichever the run changes last.
            yield* eventually(
              Effect.zipRight(
                TestClock.adjust("1 minute"),
                Effect.zip(
                  Effect.sync(() => existsSync(join(root, old))),
                  Effect.map(store.usage, (usage) => usage.tasks)
                )
              ),
              ([exists, tasks]) => !exists && tasks === 0
            )
          }).pipe(Effect.provide(AudioRetention.layer(config("1 second"))))
        }).pipe(Effect.provide(setup(root, env)))
      })
    }
  )

  it.effect("goes on when a run dies, backing off, with one Warning per streak, and recovers", () => {
    const { layer, lines } = logCapture()
    return Effect.gen(function* () {
      const store = yield* AudioStore
      yield* finishedWithAudio()
      // A ledger whose pick dies until it is mended.
      let broken = true
      let runs = 0
      const failing = Layer.effect(
        AudioLedger,
        Effect.map(AudioLedger, (ledger) =>
          AudioLedger.of({
            ...ledger,
            pick: (cutoff, limit) =>
              Effect.suspend(() => {
                runs++
                return broken ? Effect.dieMessage("the disk went away") : ledger.pick(cutoff, limit)
              })
          })
        )
      )
      yield* Effect.gen(function* () {
        yield* TestClock.adjust("1 minute")
        expect(runs).toBe(1)
        const perSecond: Array<number> = []
        for (let s = 0; s < 30; s++) {
          const before = runs
          yield* TestClock.adjust("1 second")
          perSecond.push(runs - before)
        }
        // Tried again 100 ms later, then less and less often (main: once a minute, a Warning each time).
        expect(Math.max(...perSecond)).toBeLessThan(10)
        expect(runs).toBeGreaterThan(5)
        const said = () => lines.filter((l) => l.level !== "DEBUG").map((l) => `${l.level} ${l.message}`)
        expect(said()).toEqual([expect.stringMatching(/^WARN Audio retention failed; trying again in 100ms/)])
        expect(lines[0]!.cause).toContain("the disk went away")
        broken = false
        yield* TestClock.adjust("30 seconds")
        // The files go on the real disk, which takes a moment on a busy machine.
        expect((yield* eventually(store.usage, (usage) => usage.tasks === 0)).tasks).toBe(0)
        // The run logs once its removals are done, a moment after the count has dropped.
        yield* eventually(
          Effect.sync(() => said().length),
          (n) => n >= 3
        )
        expect(said().slice(1)).toEqual([
          "INFO Removed the audio of 1 finished task(s)",
          expect.stringMatching(/^INFO Audio retention recovered after \d+ failure\(s\)/)
        ])
      }).pipe(Effect.provide(AudioRetention.layer(config("30 seconds")).pipe(Layer.provide(failing))))
    }).pipe(Effect.provide(setup(tempAudioDir())), Effect.provide(layer))
  })
})
