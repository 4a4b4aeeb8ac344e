import { HttpApiBuilder, HttpApiSwagger, HttpServer } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Config, Layer } from "effect"
import * as AudioGenerationLive from "../layers/AudioGenerationLive.js"
import * as AudioStoreFs from "../layers/AudioStoreFs.js"
import * as EspeakSynthesizer from "../layers/EspeakSynthesizer.js"
import { TaskRegistryLive } from "../layers/TaskRegistryLive.js"
import type { Synthesizer } from "../services/Synthesizer.js"
import { Api } from "./Api.js"
import { AudioLive } from "./handlers/Audio.js"
import { SystemLive } from "./handlers/System.js"
import { TasksLive } from "./handlers/Tasks.js"
import { ErrorBodies, RetryAfter } from "./Middleware.js"
import * as NodeServer from "./NodeServer.js"
import { PollIntercept, withPollingUntraced } from "./Polling.js"
import { StatusBodies } from "./StatusBody.js"

/** The API's handlers and error bodies. */
export const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([TasksLive, AudioLive, SystemLive, ErrorBodies, RetryAfter]),
  Layer.provide(StatusBodies.layer)
)

/**
 * The routes, `/docs`, `/openapi.json` and error handling, for whatever services and `HttpServer` are provided. On
 * a `NodeServer` (./NodeServer.ts), status polls of existing tasks are answered ahead of the platform (./Polling.ts).
 */
export const HttpAppLive = HttpApiBuilder.serve().pipe(
  withPollingUntraced,
  Layer.merge(PollIntercept),
  Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
  Layer.provide(ApiLive),
  HttpServer.withLogAddress
)

/** Everything the handlers use, configured from the environment, with the given speech engine. */
export const servicesWith = <E>(synthesizer: Layer.Layer<Synthesizer, E>) =>
  AudioGenerationLive.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(TaskRegistryLive, synthesizer, AudioStoreFs.layer)),
    Layer.provide(NodeContext.layer)
  )

/** Where the server listens: `HOST` (default 127.0.0.1) and `PORT` (default 8000). */
export const listen = {
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.port("PORT").pipe(Config.withDefault(8000))
}

/** The whole server: real speech, configuration from the environment, listening on `HOST`:`PORT`. */
export const ServerLive = HttpAppLive.pipe(
  Layer.provide(servicesWith(EspeakSynthesizer.layer)),
  Layer.provide(NodeServer.layerConfig(listen))
)
