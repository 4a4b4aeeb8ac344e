import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Synthesizer } from "../../services/Synthesizer.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import { Api } from "../Api.js"

export const SystemLive = HttpApiBuilder.group(Api, "system", (handlers) =>
  Effect.gen(function* () {
    const registry = yield* TaskRegistry
    const synthesizer = yield* Synthesizer
    return handlers
      .handle("health", () => Effect.map(registry.stats, (tasks) => ({ status: "ok" as const, tasks })))
      .handle("voices", () => Effect.succeed({ default: synthesizer.defaultVoice, voices: synthesizer.voices }))
  })
)
