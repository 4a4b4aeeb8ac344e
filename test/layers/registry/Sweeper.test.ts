import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Ref, TestClock } from "effect"
import { RegistryUnavailable } from "../../../src/domain/Errors.js"
import * as Sweeper from "../../../src/layers/registry/Sweeper.js"
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
        expect(lines.filter((l) => l.level === "WARN").map((l) => l.message)).toEqual(["Sweep skipped: down"])
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
})
