import { HttpApiBuilder, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { AudioStore } from "../../services/AudioStore.js"
import { Synthesizer } from "../../services/Synthesizer.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import { Api } from "./Api.js"
import { CONTENT_TYPE, Prometheus } from "../metrics/Prometheus.js"

export const SystemLive = HttpApiBuilder.group(Api, "system", (handlers) =>
  Effect.gen(function* () {
    const registry = yield* TaskRegistry
    const synthesizer = yield* Synthesizer
    const store = yield* AudioStore
    const prometheus = yield* Prometheus
    return handlers
      .handle("health", () =>
        Effect.zipWith(registry.stats, store.usage, (tasks, audio) => ({ status: "ok" as const, tasks, audio }))
      )
      .handleRaw("metrics", () =>
        Effect.map(prometheus.scrape, (text) => HttpServerResponse.text(text, { contentType: CONTENT_TYPE }))
      )
      .handle("voices", () => Effect.succeed({ default: synthesizer.defaultVoice, voices: synthesizer.voices }))
  })
)
