import { Duration, Effect, Layer, Stream } from "effect"
import { RegistryConfig, TaskRegistry, TaskRegistryMemory, TaskWorkers } from "storyflow-tasks"
import { Greeting, GreetingHandler } from "./greeting.js"

// The in-memory registry with its sweep fiber, and TASK_CONCURRENCY workers that run greetings.
const Registry = TaskWorkers.layer(Greeting).pipe(
  Layer.provide(GreetingHandler),
  Layer.provideMerge(TaskRegistryMemory.layer),
  // Finished records are kept 5 minutes; use TaskRegistryMemory.layerConfig to read the TASK_* variables instead.
  Layer.provide(RegistryConfig.layer({ cleanupThreshold: Duration.minutes(5) }))
)

const program = Effect.gen(function* () {
  const registry = yield* TaskRegistry
  const submitted = yield* registry.submit(Greeting, { names: ["Ada", "Grace"] }) // answers at once, PENDING
  // Follow the task: its snapshot now, then one per change (each with a greater `version`), until it has finished.
  return yield* registry.watch(submitted.id).pipe(Stream.runLast, Effect.flatten)
}).pipe(Effect.provide(Registry))

Effect.runPromise(program).then((task) => console.log(task._tag)) // COMPLETED
