import { Duration, Effect, Layer, Schedule } from "effect"
import { RegistryConfig } from "../../services/RegistryConfig.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"

/**
 * Sweeps the registry every `cleanupInterval`, so that an idle process frees memory too. The first sweep comes
 * one interval after start; the fiber lives in the layer's scope and is interrupted when it closes. It works with
 * any `TaskRegistry`, since it only calls `sweep`; a sweep that cannot reach the store is logged and retried at the
 * next interval.
 */
export const layer: Layer.Layer<never, never, TaskRegistry | RegistryConfig> = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { cleanupInterval } = yield* RegistryConfig
    if (Duration.toMillis(cleanupInterval) === 0) return
    const registry = yield* TaskRegistry
    const sweepOnce = registry.sweep.pipe(
      Effect.catchTag("RegistryUnavailable", (e) => Effect.logWarning(`Sweep skipped: ${e.message}`))
    )
    yield* sweepOnce.pipe(Effect.schedule(Schedule.spaced(cleanupInterval)), Effect.forkScoped)
  })
)
