import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, TestClock } from "effect"
import * as TaskIdsHmac from "../../../src/layers/ids/TaskIdsHmac.js"
import * as Sweeper from "../../../src/layers/registry/Sweeper.js"
import * as TaskRegistryMemory from "../../../src/layers/registry/TaskRegistryMemory.js"
import * as RegistryConfig from "../../../src/services/RegistryConfig.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import { logCapture } from "../../support/logs.js"

describe("Sweeper", () => {
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
