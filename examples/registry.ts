import { Duration, Effect, Layer, Schema, Stream } from "effect"
import {
  CompletedSegment,
  RegistryConfig,
  TaskHandler,
  TaskKind,
  TaskRegistry,
  TaskRegistryMemory,
  TaskWorkers
} from "storyflow-tasks"

// A kind of task: a name, a payload schema (stored as JSON), and how many units of progress a payload makes.
const Greeting = TaskKind.make({
  name: "greeting",
  payload: Schema.Struct({ names: Schema.Array(Schema.String) }),
  total: (payload) => payload.names.length
})

// Its handler, as a layer: it may use services, and reports each unit as it finishes.
const GreetingHandler = TaskHandler.layer(
  Greeting,
  Effect.succeed((payload, progress) =>
    Effect.forEach(payload.names, (name) =>
      progress.segmentDone(new CompletedSegment({ segmentId: name, audioUrl: `/hello/${name}`, durationSeconds: 0 }))
    )
  )
)

// The in-memory registry with its sweep fiber, and TASK_CONCURRENCY workers that run greetings.
const Registry = TaskWorkers.layer(Greeting).pipe(
  Layer.provide(GreetingHandler),
  Layer.provideMerge(TaskRegistryMemory.layer),
  // Finished records are kept 5 minutes; use TaskRegistryMemory.layerConfig to read the TASK_* variables instead.
  Layer.provide(RegistryConfig.layer({ cleanupThreshold: Duration.minutes(5) }))
)

export const program = Effect.gen(function* () {
  const registry = yield* TaskRegistry
  const submitted = yield* registry.submit(Greeting, { names: ["Ada", "Grace"] }) // answers at once, PENDING
  // Follow the task: its snapshot now, then one per change (each with a greater `version`), until it has finished.
  return yield* registry.watch(submitted.id).pipe(Stream.runLast, Effect.flatten)
}).pipe(Effect.provide(Registry))

// Effect.runPromise(program).then((task) => console.log(task._tag)) // COMPLETED
