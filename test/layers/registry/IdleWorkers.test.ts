import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import * as IdleWorkers from "../../../src/layers/registry/IdleWorkers.js"

// The idle workers of the in-memory store: a wake-up goes to exactly one sleeper, the one asleep longest, of a kind
// set that runs the task's kind; one that finds nobody asleep is kept for the next to fall asleep.

/** Lets every forked fiber run as far as it can. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

/** Whether `fiber` has ended, once the others have run. */
const ended = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.zipRight(settle, Effect.map(Fiber.poll(fiber), Option.isSome))

describe("IdleWorkers", () => {
  it.effect("wakes the worker asleep longest, one per wake-up, and says whether anyone was asleep", () =>
    Effect.gen(function* () {
      const sleepers = IdleWorkers.makeSleepers(["a"])
      expect(sleepers.wakeOne()).toBe(false)
      const first = yield* Effect.fork(sleepers.sleep)
      yield* settle
      const second = yield* Effect.fork(sleepers.sleep)
      yield* settle
      expect(sleepers.asleep()).toBe(2)
      expect(sleepers.wakeOne()).toBe(true)
      expect(yield* ended(first)).toBe(true)
      expect(yield* ended(second)).toBe(false)
      expect(sleepers.asleep()).toBe(1)
      expect(sleepers.wakeOne()).toBe(true)
      expect(yield* ended(second)).toBe(true)
      expect(sleepers.asleep()).toBe(0)
    })
  )

  it.effect("keeps nothing when wakeOne finds nobody, and nothing at the start: the next sleep waits", () =>
    Effect.gen(function* () {
      const sleepers = IdleWorkers.makeSleepers(["a"])
      expect(sleepers.wakeOne()).toBe(false)
      const sleeper = yield* Effect.fork(sleepers.sleep)
      expect(yield* ended(sleeper)).toBe(false)
      yield* Fiber.interrupt(sleeper)
    })
  )

  it.effect("keeps one wake-up that finds nobody asleep, and only then", () =>
    Effect.gen(function* () {
      const sleepers = IdleWorkers.makeSleepers(["a"])
      // Nobody asleep: kept, and the next sleep ends at once (one at most: the one after it waits).
      sleepers.wakeOrKeep()
      sleepers.wakeOrKeep()
      expect(yield* ended(yield* Effect.fork(sleepers.sleep))).toBe(true)
      const waits = yield* Effect.fork(sleepers.sleep)
      expect(yield* ended(waits)).toBe(false)
      // Someone asleep: woken, and nothing kept.
      sleepers.wakeOrKeep()
      expect(yield* ended(waits)).toBe(true)
      const next = yield* Effect.fork(sleepers.sleep)
      expect(yield* ended(next)).toBe(false)
      yield* Fiber.interrupt(next)
    })
  )

  it.effect("forgets a sleeper that is interrupted: a wake-up is not spent on it", () =>
    Effect.gen(function* () {
      const sleepers = IdleWorkers.makeSleepers(["a"])
      const gone = yield* Effect.fork(sleepers.sleep)
      yield* settle
      const stays = yield* Effect.fork(sleepers.sleep)
      yield* settle
      yield* Fiber.interrupt(gone)
      expect(sleepers.asleep()).toBe(1)
      expect(sleepers.wakeOne()).toBe(true)
      expect(yield* ended(stays)).toBe(true)
      expect(sleepers.wakeOne()).toBe(false)
    })
  )

  it.effect("someoneAsleep ends at once when a worker sleeps, else when the first falls asleep", () =>
    Effect.gen(function* () {
      const sleepers = IdleWorkers.makeSleepers(["a"])
      const watching = yield* Effect.fork(sleepers.someoneAsleep)
      expect(yield* ended(watching)).toBe(false)
      const sleeper = yield* Effect.fork(sleepers.sleep)
      expect(yield* ended(watching)).toBe(true)
      expect(yield* ended(yield* Effect.fork(sleepers.someoneAsleep))).toBe(true)
      yield* Fiber.interrupt(sleeper)
      expect(yield* ended(yield* Effect.fork(sleepers.someoneAsleep))).toBe(false)
    })
  )

  it("names a kind set the same whatever the order of its kinds, each once", () => {
    expect(IdleWorkers.kindSetKey(["b", "a", "b"])).toBe("a,b")
    expect(IdleWorkers.kindSetKey(["a", "b"])).toBe(IdleWorkers.kindSetKey(["b", "a"]))
  })

  it.effect("gives workers of one kind set, in any order, the same sleepers, with the set's kinds", () =>
    Effect.sync(() => {
      const idle = IdleWorkers.make()
      const ab = idle.join(["b", "a"])
      expect(idle.join(["a", "b"])).toBe(ab)
      expect(ab.kinds).toEqual(["a", "b"])
      expect(idle.join(["a"])).not.toBe(ab)
    })
  )

  it.effect(
    "wakes one idle worker that runs the kind, never one that does not; else every set that runs it keeps it",
    () =>
      Effect.gen(function* () {
        const idle = IdleWorkers.make()
        const onlyA = idle.join(["a"])
        const ab = idle.join(["a", "b"])
        const onlyB = idle.join(["b"])
        const b = yield* Effect.fork(onlyB.sleep)
        const abWorker = yield* Effect.fork(ab.sleep)
        yield* settle
        // Nobody of "a" alone sleeps; the a-and-b worker does: it alone is woken, and "a" keeps nothing.
        idle.wake("a")
        expect(yield* ended(abWorker)).toBe(true)
        expect(yield* ended(b)).toBe(false)
        const a = yield* Effect.fork(onlyA.sleep)
        expect(yield* ended(a)).toBe(false)
        // Woken once, not twice.
        const ab2 = yield* Effect.fork(ab.sleep)
        yield* settle
        idle.wake("a")
        expect([yield* ended(a), yield* ended(ab2)].filter(Boolean)).toHaveLength(1)
        for (const f of [a, ab2]) yield* Fiber.interrupt(f)
        // Nobody that runs "c": nothing woken, nothing kept anywhere.
        idle.wake("c")
        expect(yield* ended(b)).toBe(false)
        // The one worker of "b" asleep is woken; then, with none asleep, both sets that run "b" keep the wake-up.
        idle.wake("b")
        expect(yield* ended(b)).toBe(true)
        idle.wake("b")
        expect(yield* ended(yield* Effect.fork(onlyB.sleep))).toBe(true)
        expect(yield* ended(yield* Effect.fork(ab.sleep))).toBe(true)
        const kept = yield* Effect.fork(onlyA.sleep)
        expect(yield* ended(kept)).toBe(false)
        yield* Fiber.interrupt(kept)
      })
  )
})
