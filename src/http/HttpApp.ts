import { HttpApiBuilder, HttpApiSwagger, HttpServer } from "@effect/platform"
import { Layer } from "effect"
import { Api } from "./Api.js"
import { AudioLive } from "./handlers/Audio.js"
import { SystemLive } from "./handlers/System.js"
import { TasksLive } from "./handlers/Tasks.js"
import { ErrorBodies, RetryAfter } from "./Middleware.js"

/** The API's handlers and error bodies. */
export const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([TasksLive, AudioLive, SystemLive, ErrorBodies, RetryAfter])
)

/**
 * The routes, `/docs`, `/openapi.json` and error handling, served on whatever `HttpServer` is provided; the
 * services the handlers use (`TaskRegistry`, `Synthesizer`, `AudioStore`) come from outside (see `App.ts`).
 */
export const HttpAppLive = HttpApiBuilder.serve().pipe(
  Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
  Layer.provide(ApiLive),
  HttpServer.withLogAddress
)
