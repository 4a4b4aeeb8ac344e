import { Effect, Schema } from "effect"
import { CompletedSegment, TaskHandler, TaskKind } from "storyflow-tasks"

// A kind of task: a name, a payload schema (stored as JSON), and how many units of progress a payload makes.
export const Greeting = TaskKind.make({
  name: "greeting",
  payload: Schema.Struct({ names: Schema.Array(Schema.String) }),
  total: (payload) => payload.names.length
})

// Its handler, as a layer: it may use services, and reports each unit as it finishes.
export const GreetingHandler = TaskHandler.layer(
  Greeting,
  Effect.succeed((payload, progress) =>
    Effect.forEach(payload.names, (name) =>
      progress.segmentDone(new CompletedSegment({ segmentId: name, audioUrl: `/hello/${name}`, durationSeconds: 0 }))
    )
  )
)
