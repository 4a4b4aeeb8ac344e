import { Duration, Effect, Layer } from "effect"
import { RegistryConfig } from "../../services/RegistryConfig.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import * as Loops from "./Loops.js"

/**
 * Sweeps the registry every `cleanupInterval`, so that an idle process frees memory too. The first sweep comes
 * one interval after start; the fiber lives in the layer's scope and is interrupted when it closes. It works with
 * any `TaskRegistry`, since it only calls `sweep`. A sweep that fails (the store cannot be reached) or dies is tried
 * again with the back-off of every loop (`Loops`), logged once per streak, and the next interval counts from the
 * sweep that worked.
 */
export const layer: Layer.Layer<never, never, TaskRegistry | RegistryConfig> = Layer.scopedDiscard(
  Effect.gen(function* () {
    const { cleanupInterval } = yield* RegistryConfig
    if (Duration.toMillis(cleanupInterval) === 0) return
    const registry = yield* TaskRegistry
    yield* Loops.every("The sweep", cleanupInterval, registry.sweep).pipe(Effect.forkScoped)
  })
)
