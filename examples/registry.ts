import { Duration, Effect } from "effect"
import type { Job } from "storyflow-tasks"
import { CompletedSegment, isFinished, TaskRegistry, taskRegistryLayer } from "storyflow-tasks"

// A job reports each segment as it finishes; this one "synthesizes" its only segment at once.
const job: Job = {
  total: 1,
  run: (progress) =>
    progress.segmentDone(
      new CompletedSegment({ segmentId: "s1", audioUrl: "/audio/demo/s1.wav", durationSeconds: 1.2 })
    )
}

export const program = Effect.gen(function* () {
  const registry = yield* TaskRegistry
  const submitted = yield* registry.submit(job) // answers at once, PENDING
  // Poll until the task has finished, as a client of the HTTP API would.
  return yield* registry.get(submitted.id).pipe(Effect.delay("10 millis"), Effect.repeat({ until: isFinished }))
}).pipe(
  // Finished records are kept 5 minutes; provide TaskRegistryLive instead to read the TASK_* variables.
  Effect.provide(taskRegistryLayer({ cleanupThreshold: Duration.minutes(5) }))
)

// Effect.runPromise(program).then((task) => console.log(task._tag)) // COMPLETED
