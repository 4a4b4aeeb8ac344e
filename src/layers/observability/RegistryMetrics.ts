import { Effect, Layer, Schedule, Stream } from "effect"
import { countEvent } from "../../services/Metrics.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"

/**
 * Counts the registry's events (submitted, finished by status, evicted by cause, task durations) for as long as the
 * layer is open, in one fiber that reads `registry.events`. Store-agnostic: it needs only the `TaskRegistry`. If the
 * store becomes unreachable, it subscribes again a second later.
 */
export const layer = Layer.scopedDiscard(
  Effect.gen(function* () {
    const registry = yield* TaskRegistry
    yield* registry.events.pipe(
      Stream.runForEach(countEvent),
      Effect.retry(Schedule.spaced("1 second")),
      Effect.forkScoped
    )
  })
)
