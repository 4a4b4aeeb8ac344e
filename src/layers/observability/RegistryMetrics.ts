import { Effect, Layer, Schedule, Stream } from "effect"
import { countEvent } from "../../services/Metrics.js"
import type { RegistryEvent } from "../../services/TaskRegistry.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"

/**
 * Counts the registry's events (submitted, finished by status, evicted by cause, task durations) for as long as the
 * layer is open, in one fiber that reads `registry.events`. Store-agnostic: it needs only the `TaskRegistry`. A read
 * that fell behind resumes after the last event it counted; if the store becomes unreachable, it subscribes again a
 * second later.
 */
export const layer = Layer.scopedDiscard(
  Effect.gen(function* () {
    const registry = yield* TaskRegistry
    let last: string | undefined
    const count = (event: RegistryEvent) => {
      if (event._tag !== "Missed") last = event.id
      return countEvent(event)
    }
    yield* Stream.suspend(() => (last === undefined ? registry.events : registry.eventsAfter(last))).pipe(
      Stream.runForEach(count),
      Effect.retry(Schedule.spaced("1 second")),
      Effect.repeat(Schedule.spaced("100 millis")),
      Effect.forkScoped
    )
  })
)
