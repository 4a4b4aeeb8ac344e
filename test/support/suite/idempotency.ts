import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Option, Schema } from "effect"
import { IdempotencyKeyReused, RegistryFull, TaskExpired, TaskNoLongerHeld } from "../../../src/domain/Errors.js"
import * as TaskKind from "../../../src/domain/TaskKind.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import type { RegistryHarness } from "../registry.js"
import { awaitStatus, eventually } from "../registry.js"
import * as Jobs from "../script.js"
import { Gates, newGate, Script, submit, submitKeyed } from "../script.js"

/** The message of the defect an effect died with. */
const defectOf = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.exit(self), (exit) => {
    const defect = Exit.isFailure(exit) ? Cause.dieOption(exit.cause) : Option.none()
    return Option.match(defect, { onNone: () => undefined, onSome: (d) => (d instanceof Error ? d.message : d) })
  })

let keyCount = 0
const newKey = () => `order-${++keyCount}/attempt 1`

/** Idempotent submit, and the names a kind may have: what every store must show. */
export const idempotencySuite = (harness: RegistryHarness) => {
  const using = (env: Record<string, string> = {}) => Effect.provide(harness.layer(env))
  const noSweep = { TASK_CLEANUP_THRESHOLD: "60", TASK_CLEANUP_INTERVAL: "0" }

  describe("idempotent submit", () => {
    it.effect("answers a repeat with the task's record as first stored, while its record or tombstone is held", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const gate = newGate()
        const key = newKey()
        yield* harness.advance("3 seconds")
        const first = yield* submitKeyed(Jobs.gated(gate, 2), key)
        expect(first).toMatchObject({ _tag: "PENDING", version: 1, attempts: 0, createdAt: 3000 })
        yield* harness.advance("1 second")
        expect(yield* submitKeyed(Jobs.gated(gate, 2), key)).toEqual(first)
        yield* awaitStatus(first.id, "PROCESSING")
        expect(yield* submitKeyed(Jobs.gated(gate, 2), key)).toEqual(first)
        yield* (yield* Gates).open(gate)
        yield* awaitStatus(first.id, "COMPLETED")
        expect(yield* submitKeyed(Jobs.gated(gate, 2), key)).toEqual(first)
        // Evicted: only its tombstone is held, and it still names the task.
        yield* harness.advance("61 seconds")
        expect(yield* registry.sweep).toBe(1)
        expect(yield* Effect.flip(registry.get(first.id))).toBeInstanceOf(TaskExpired)
        expect(yield* submitKeyed(Jobs.gated(gate, 2), key)).toEqual(first)
        // No repeat made a task.
        expect(yield* registry.list({})).toEqual([])
        expect(yield* registry.stats).toMatchObject({ pending: 0, processing: 0, finished: 0, tombstones: 1 })
      }).pipe(using(noSweep))
    )

    it.effect("refuses the key with another payload or another kind: IdempotencyKeyReused, naming the task", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const key = newKey()
        const first = yield* submitKeyed(Jobs.instant(1), key)
        const reused = new IdempotencyKeyReused({ idempotencyKey: key, taskId: first.id })
        expect(yield* Effect.flip(submitKeyed(Jobs.instant(2), key))).toEqual(reused)
        const other = TaskKind.make({ name: "test.other", payload: Script.payload, total: Script.total })
        expect(yield* Effect.flip(registry.submit(other, Jobs.instant(1), { idempotencyKey: key }))).toEqual(reused)
        expect(reused.message).toContain(JSON.stringify(key))
        expect(reused.message).toContain(first.id)
        // Nothing was stored by either, and the key still answers its own task.
        expect((yield* registry.list({})).map((t) => t.id)).toEqual([first.id])
        expect(yield* submitKeyed(Jobs.instant(1), key)).toEqual(first)
        // Without a key, or under another one, the same payload is a task of its own.
        expect((yield* submit(Jobs.instant(1))).id).not.toBe(first.id)
        expect((yield* submitKeyed(Jobs.instant(1), newKey())).id).not.toBe(first.id)
      }).pipe(using({ TASK_CONCURRENCY: "0" }))
    )

    it.effect("makes one task of 20 concurrent repeats, and a repeat passes no admission check", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const key = newKey()
        const answers = yield* Effect.forEach(
          Array.from({ length: 20 }, (_, i) => i),
          () => submitKeyed(Jobs.instant(1), key),
          { concurrency: "unbounded" }
        )
        expect(new Set(answers.map((t) => t.id)).size).toBe(1)
        for (const answer of answers) expect(answer).toEqual(answers[0])
        expect(yield* eventually(registry.stats, () => true)).toMatchObject({ pending: 1 })
        expect((yield* registry.list({})).map((t) => t.id)).toEqual([answers[0]!.id])
        // The registry is full (TASK_MAX_PENDING=1), yet a repeat is answered: it adds nothing.
        expect(yield* Effect.flip(submit(Jobs.instant(1)))).toEqual(new RegistryFull({ maxPending: 1 }))
        expect(yield* submitKeyed(Jobs.instant(1), key)).toEqual(answers[0])
      }).pipe(using({ TASK_CONCURRENCY: "0", TASK_MAX_PENDING: "1" }))
    )

    it.effect("lets the key be used afresh once the task's record and tombstone are both gone", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const key = newKey()
        const first = yield* submitKeyed(Jobs.instant(1), key)
        yield* awaitStatus(first.id, "COMPLETED")
        yield* harness.advance("1 millis")
        const later = yield* submit(Jobs.instant(1))
        yield* awaitStatus(later.id, "COMPLETED")
        yield* harness.advance("61 seconds")
        // Both evicted; the ring holds one tombstone, the later task's.
        expect(yield* registry.sweep).toBe(2)
        expect(yield* Effect.flip(registry.get(first.id))).toBeInstanceOf(TaskNoLongerHeld)
        const fresh = yield* submitKeyed(Jobs.instant(2), key)
        expect(fresh.id).not.toBe(first.id)
        expect(fresh).toMatchObject({ _tag: "PENDING", total: 2, version: 1 })
        expect(yield* submitKeyed(Jobs.instant(2), key)).toEqual(fresh)
        expect(yield* Effect.flip(submitKeyed(Jobs.instant(1), key))).toEqual(
          new IdempotencyKeyReused({ idempotencyKey: key, taskId: fresh.id })
        )
      }).pipe(using({ ...noSweep, TASK_TOMBSTONES: "1" }))
    )

    it.effect("lets the key be used afresh at once when tombstones are off", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const key = newKey()
        const first = yield* submitKeyed(Jobs.instant(1), key)
        yield* awaitStatus(first.id, "COMPLETED")
        yield* harness.advance("61 seconds")
        expect(yield* registry.sweep).toBe(1)
        const fresh = yield* submitKeyed(Jobs.instant(2), key)
        expect(fresh.id).not.toBe(first.id)
      }).pipe(using({ ...noSweep, TASK_TOMBSTONES: "0" }))
    )

    it.effect("dies, saying what is wrong, for a key that is not 1 to 255 printable ASCII characters", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const bad = ["", " leading", "trailing ", "x".repeat(256), "caf\u00e9", "line\nbreak"]
        for (const key of bad) {
          const message = yield* defectOf(submitKeyed(Jobs.instant(1), key))
          expect(message).toMatch(/^Invalid idempotency key .*must be 1 to 255 printable ASCII characters/)
        }
        expect(yield* defectOf(submitKeyed(Jobs.instant(1), "x".repeat(256)))).toContain("it has 256 characters")
        expect(yield* registry.list({})).toEqual([])
        for (const key of ["x".repeat(255), "a b", "~"]) yield* submitKeyed(Jobs.instant(1), key)
        expect(yield* registry.list({})).toHaveLength(3)
      }).pipe(using({ TASK_CONCURRENCY: "0" }))
    )
  })

  describe("kind names", () => {
    const rule = /1 to 64 characters, letters, digits, "_", ".", ":" and "-", starting with a letter or a digit/

    it("TaskKind.make refuses a name that is not 1 to 64 letters, digits, _ . : -, with a TypeError", () => {
      for (const name of ['say "hi"', "", "-lead", "x".repeat(65), "a b", "naïve", "a{b}"]) {
        expect(() => TaskKind.make({ name, payload: Schema.Struct({}), total: () => 1 })).toThrow(TypeError)
      }
      expect(() => TaskKind.make({ name: 'say "hi"', payload: Schema.Struct({}), total: () => 1 })).toThrow(rule)
      for (const name of ["a", "narration", "v2.audio:fast-lane_1", "x".repeat(64)]) {
        expect(TaskKind.make({ name, payload: Schema.Struct({}), total: () => 1 }).name).toBe(name)
      }
    })

    it.effect("a kind made without TaskKind.make, with a bad name, dies at submit with the same message", () =>
      Effect.gen(function* () {
        const registry = yield* TaskRegistry
        const kind: TaskKind.TaskKind<string, {}, {}> = {
          name: 'say "hi"',
          payload: Schema.Struct({}),
          total: () => 1
        }
        const message = yield* defectOf(registry.submit(kind, {}))
        expect(message).toBe(TaskKind.invalidName('say "hi"'))
        expect(message).toMatch(rule)
        expect(yield* defectOf(registry.submit(kind, {}, { idempotencyKey: newKey() }))).toMatch(rule)
        expect(yield* registry.list({})).toEqual([])
        expect(yield* registry.stats).toMatchObject({ pending: 0, processing: 0 })
      }).pipe(using({ TASK_CONCURRENCY: "0" }))
    )
  })
}
