import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Ref, TestClock } from "effect"
import { RegistryUnavailable } from "../../../src/domain/Errors.js"
import * as TaskIdsHmac from "../../../src/layers/ids/TaskIdsHmac.js"
import * as Sweeper from "../../../src/layers/registry/Sweeper.js"
import * as TaskRegistryMemory from "../../../src/layers/registry/TaskRegistryMemory.js"
import * as RegistryConfig from "../../../src/services/RegistryConfig.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import { logCapture } from "../../support/logs.js"

/** A registry that only counts its sweeps, the first `failures` of which cannot reach the store. */
const counting = (failures: number) =>
  Effect.map(Ref.make(0), (sweeps) => {
    const sweep = Ref.updateAndGet(sweeps, (n) => n + 1).pipe(
      Effect.flatMap((n) =>
        n <= failures ? Effect.fail(new RegistryUnavailable({ message: "down" })) : Effect.succeed(0)
      )
    )
    const registry = TaskRegistry.of({ sweep } as unknown as TaskRegistry["Type"])
    return { sweeps, registry }
  })

describe("Sweeper", () => {
  it.effect(
    "sweeps once per interval, the first one interval after start, and goes on past a store that is down",
    () => {
      const { layer, lines } = logCapture()
      return Effect.gen(function* () {
        const { registry, sweeps } = yield* counting(1)
        yield* Layer.build(
          Sweeper.layer.pipe(
            Layer.provide(Layer.succeed(TaskRegistry, registry)),
            Layer.provide(RegistryConfig.layer({ cleanupInterval: Duration.seconds(60) }))
          )
        ).pipe(Effect.provide(layer))
        yield* TestClock.adjust("59 seconds")
        expect(yield* Ref.get(sweeps)).toBe(0)
        yield* TestClock.adjust("1 second")
        expect(yield* Ref.get(sweeps)).toBe(1)
        expect(lines.filter((l) => l.level === "WARN").map((l) => l.message)).toEqual([
          expect.stringMatching(/^The sweep failed; trying again in/)
        ])
        // The failed sweep did not end the loop.
        yield* TestClock.adjust("10 minutes")
        expect(yield* Ref.get(sweeps)).toBeGreaterThanOrEqual(2)
      }).pipe(Effect.scoped)
    }
  )

  it.effect("does not sweep at all when the interval is 0", () =>
    Effect.gen(function* () {
      const { registry, sweeps } = yield* counting(0)
      yield* Layer.build(
        Sweeper.layer.pipe(
          Layer.provide(Layer.succeed(TaskRegistry, registry)),
          Layer.provide(RegistryConfig.layer({ cleanupInterval: Duration.zero }))
        )
      )
      yield* TestClock.adjust("1 day")
      expect(yield* Ref.get(sweeps)).toBe(0)
    }).pipe(Effect.scoped)
  )

  it.effect("goes on after a sweep dies, backing off, with one Warning per streak, and recovers", () => {
    const { layer, lines } = logCapture()
    return Effect.gen(function* () {
      const config = RegistryConfig.layer({ cleanupInterval: Duration.seconds(10) })
      // The store alone, without a sweep fiber of its own.
      const store = TaskRegistryMemory.layerStore.pipe(Layer.provide(TaskIdsHmac.layerEphemeral), Layer.provide(config))
      const registry = yield* Effect.provide(TaskRegistry, yield* Layer.build(store))
      let broken = true
      const sweeps: Array<number> = []
      const dying = TaskRegistry.of({
        ...registry,
        sweep: Effect.suspend(() =>
          Effect.flatMap(TestClock.currentTimeMillis, (now) => {
            sweeps.push(now)
            return broken ? Effect.dieMessage("the sweep broke") : registry.sweep
          })
        )
      })
      yield* Layer.build(Sweeper.layer.pipe(Layer.provide(Layer.succeed(TaskRegistry, dying)), Layer.provide(config)))
      yield* TestClock.adjust("10 seconds")
      expect(sweeps).toEqual([10_000])
      // A minute of a dying sweep: tried again 100 ms later, then less and less often (main: it stopped for good).
      const perSecond: Array<number> = []
      for (let s = 0; s < 60; s++) {
        const before = sweeps.length
        yield* TestClock.adjust("1 second")
        perSecond.push(sweeps.length - before)
      }
      expect(Math.max(...perSecond)).toBeLessThan(10)
      expect(sweeps.length).toBeGreaterThan(8)
      const said = () => lines.filter((l) => l.level !== "DEBUG").map((l) => `${l.level} ${l.message}`)
      expect(said()).toEqual([expect.stringMatching(/^WARN The sweep failed; trying again in 100ms/)])
      expect(lines[0]!.cause).toContain("the sweep broke")
      // Mended: the next try works, says so, and the sweep runs every interval again.
      broken = false
      yield* TestClock.adjust("30 seconds")
      expect(said().slice(1)).toEqual([expect.stringMatching(/^INFO The sweep recovered after \d+ failure\(s\)/)])
      const mended = sweeps.length
      yield* TestClock.adjust("30 seconds")
      expect(sweeps.length - mended).toBe(3)
    }).pipe(Effect.scoped, Effect.provide(layer))
  })
})
