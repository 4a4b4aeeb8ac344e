import { HttpApiBuilder, HttpApiSwagger, HttpServer } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { Layer } from "effect"
import * as AudioGenerationLive from "../layers/AudioGenerationLive.js"
import * as AudioStoreFs from "../layers/AudioStoreFs.js"
import * as EspeakSynthesizer from "../layers/EspeakSynthesizer.js"
import { TaskRegistryLive } from "../layers/TaskRegistryLive.js"
import type { Synthesizer } from "../services/Synthesizer.js"
import { Api } from "./Api.js"
import * as ContentType from "./ContentType.js"
import * as Guards from "./Guards.js"
import { AudioLive } from "./handlers/Audio.js"
import { SystemLive } from "./handlers/System.js"
import { TasksLive } from "./handlers/Tasks.js"
import * as Listener from "./Listener.js"
import * as Methods from "./Methods.js"
import { ErrorBodies, RetryAfter } from "./Middleware.js"

/** The API's handlers, error bodies, and the checks made before a handler runs (./Guards.ts, ./ContentType.ts). */
export const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([TasksLive, AudioLive, SystemLive, ErrorBodies, RetryAfter, Guards.layerConfig]),
  Layer.provide(ContentType.layer)
)

/**
 * The routes, `/docs`, `/openapi.json`, 405 for a known path with another method, and error handling, for whatever
 * services and `HttpServer` are provided.
 */
export const HttpAppLive = HttpApiBuilder.serve().pipe(
  Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
  Layer.provide(
    Methods.layer(Api, [
      ["/docs", "GET"],
      ["/openapi.json", "GET"]
    ])
  ),
  Layer.provide(ApiLive),
  HttpServer.withLogAddress
)

/** Everything the handlers use, configured from the environment, with the given speech engine. */
export const servicesWith = <E>(synthesizer: Layer.Layer<Synthesizer, E>) =>
  AudioGenerationLive.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(TaskRegistryLive, synthesizer, AudioStoreFs.layer)),
    Layer.provide(NodeContext.layer)
  )

/**
 * The whole server: real speech, configuration from the environment, listening on `HOST`:`PORT`. Every service is
 * built before the port opens (the outer `provide` is built first), so a request never waits on the speech engine;
 * the listener answers 503 in the moment between the port opening and the routes being attached.
 */
export const ServerLive = HttpAppLive.pipe(
  Layer.provide(Listener.layerConfig),
  Layer.provide(servicesWith(EspeakSynthesizer.layer))
)
