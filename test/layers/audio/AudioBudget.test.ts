import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, TestClock } from "effect"
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import type { TaskId } from "../../../src/domain/TaskId.js"
import * as AudioLedgerMemory from "../../../src/layers/audio/AudioLedgerMemory.js"
import * as AudioRetention from "../../../src/layers/audio/AudioRetention.js"
import * as AudioStoreFs from "../../../src/layers/audio/AudioStoreFs.js"
import { AudioStore } from "../../../src/services/AudioStore.js"
import { bytesOnDisk } from "../../support/disk.js"
import { tempAudioDir } from "../../support/http.js"
import { awaitStatus, memoryRegistry } from "../../support/registry.js"
import * as Jobs from "../../support/script.js"
import { Gates, newGate, submit } from "../../support/script.js"

// The byte budget as audio is written: what the directory holds, measured on the disk itself, never goes past
// AUDIO_MAX_BYTES by more than one segment per writer, whoever writes and however many at once.

/** 0.1 s of 8 kHz audio: 1,644 bytes as a WAV file. */
const speech = { samples: new Int16Array(800), sampleRate: 8000 }
const WAV_BYTES = 44 + 1600

const setup = (root: string, concurrency: number) =>
  Layer.mergeAll(
    Layer.scoped(AudioStore, AudioStoreFs.make(root)).pipe(Layer.provide(NodeContext.layer)),
    Layer.fresh(AudioLedgerMemory.layer).pipe(
      Layer.provideMerge(memoryRegistry({ TASK_CONCURRENCY: String(concurrency) }))
    )
  )

const budget = (maxBytes: number): AudioRetention.AudioRetentionConfig => ({
  retention: Duration.zero,
  maxBytes,
  interval: Duration.minutes(1)
})

/** A finished task with one segment of audio, written now through `store`. */
const finishedWithAudio = (store: AudioStore["Type"]) =>
  Effect.gen(function* () {
    const task = yield* submit(Jobs.instant())
    yield* awaitStatus(task.id, "COMPLETED")
    yield* store.write(task.id, "s0", speech)
    return task.id
  })

/** A task held PROCESSING until its gate opens. */
const running = Effect.gen(function* () {
  const gate = newGate()
  const task = yield* submit(Jobs.gated(gate))
  yield* awaitStatus(task.id, "PROCESSING")
  return { id: task.id, gate }
})

describe("audio budget at write time", () => {
  it.effect(
    "parallel writers keep the directory within AUDIO_MAX_BYTES plus one segment each, oldest finished audio first",
    () => {
      const root = tempAudioDir()
      const writers = 3
      const segmentsEach = 4
      const maxBytes = 14 * WAV_BYTES
      return Effect.gen(function* () {
        const { store } = yield* AudioRetention.make(budget(maxBytes))
        const finished: Array<TaskId> = []
        for (let i = 0; i < 8; i++) {
          finished.push(yield* finishedWithAudio(store))
          yield* TestClock.adjust("1 second")
        }
        const active = yield* Effect.forEach(Array.from({ length: writers }), () => running)
        let peak = 0
        const writeAll = (id: TaskId) =>
          Effect.forEach(
            Array.from({ length: segmentsEach }, (_, i) => `w${i}`),
            (segment) =>
              store
                .write(id, segment, speech)
                .pipe(
                  Effect.zipRight(Effect.sync(() => (peak = Math.max(peak, bytesOnDisk(root))))),
                  Effect.zipRight(TestClock.adjust("1 millis"))
                ),
            { discard: true }
          )
        yield* Effect.forEach(active, ({ id }) => writeAll(id), { concurrency: "unbounded", discard: true })

        expect(peak).toBeLessThanOrEqual(maxBytes + writers * WAV_BYTES)
        // Every running task's audio is there; the finished tasks' that went are the oldest ones.
        for (const { id } of active) expect(readdirSync(join(root, id)).length).toBe(segmentsEach)
        const kept = finished.filter((id) => existsSync(join(root, id)))
        expect(kept.length).toBeLessThan(finished.length)
        expect(kept).toEqual(finished.slice(finished.length - kept.length))
        // The running total is the disk's, exactly.
        expect((yield* store.usage).bytes).toBe(bytesOnDisk(root))
        expect(bytesOnDisk(root)).toBeLessThanOrEqual(maxBytes + writers * WAV_BYTES)
        const gates = yield* Gates
        for (const { gate } of active) yield* gates.open(gate)
      }).pipe(Effect.provide(setup(root, writers)))
    }
  )

  it.effect("refuses a segment once running tasks' audio alone is over the budget, and removes none of it", () => {
    const root = tempAudioDir()
    return Effect.gen(function* () {
      const { store } = yield* AudioRetention.make(budget(2 * WAV_BYTES))
      const task = yield* running
      // Two fit; the third is the one segment a writer may take past the budget; the fourth is refused.
      for (const segment of ["s0", "s1", "s2"]) yield* store.write(task.id, segment, speech)
      const refused = yield* Effect.flip(store.write(task.id, "s3", speech))
      expect(refused.message).toContain("AUDIO_MAX_BYTES")
      expect(readdirSync(join(root, task.id)).sort()).toEqual(["s0.wav", "s1.wav", "s2.wav"])
      expect((yield* store.usage).bytes).toBe(3 * WAV_BYTES)
      // Once the task has finished, its audio makes room for the next task's like any finished task's.
      yield* (yield* Gates).open(task.gate)
      yield* awaitStatus(task.id, "COMPLETED")
      const next = yield* running
      yield* store.write(next.id, "s0", speech)
      expect(existsSync(join(root, task.id))).toBe(false)
      expect((yield* store.usage).bytes).toBe(WAV_BYTES)
      yield* (yield* Gates).open(next.gate)
    }).pipe(Effect.provide(setup(root, 1)))
  })
})
