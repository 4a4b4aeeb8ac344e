import { Effect, Layer, Stream } from "effect"
import { TaskRegistry, TaskWorkers } from "storyflow-tasks"
import { TaskRegistryRedis } from "storyflow-tasks/redis"
import { Greeting, GreetingHandler } from "./greeting.js"

// REDIS_URL, TASK_REDIS_PREFIX, TASK_LEASE, TASK_MAX_ATTEMPTS and the TASK_* settings, from the environment.
// Set TASK_ID_SECRET (the same in every process), so that each recognises the ids the others issued.
const Registry = TaskWorkers.layer(Greeting).pipe(
  Layer.provide(GreetingHandler),
  Layer.provideMerge(TaskRegistryRedis.layerConfig)
)

// The same program as in memory: any process on the same Redis and prefix could run, cancel or watch this task.
const program = Effect.gen(function* () {
  const registry = yield* TaskRegistry
  const submitted = yield* registry.submit(Greeting, { names: ["Ada", "Grace"] })
  return yield* registry.watch(submitted.id).pipe(Stream.runLast, Effect.flatten)
}).pipe(Effect.provide(Registry))

Effect.runPromise(program).then((task) => console.log(task._tag)) // COMPLETED
