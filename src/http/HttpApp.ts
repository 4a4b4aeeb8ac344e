import { HttpApiBuilder, HttpApiSwagger, HttpServer } from "@effect/platform"
import { Layer } from "effect"
import { Api } from "./Api.js"
import * as ContentType from "./ContentType.js"
import * as Dashboard from "./Dashboard.js"
import * as Guards from "./Guards.js"
import { AudioLive } from "./handlers/Audio.js"
import { EventsLive } from "./handlers/Events.js"
import { SystemLive } from "./handlers/System.js"
import { TasksLive } from "./handlers/Tasks.js"
import * as Methods from "./Methods.js"
import { ErrorBodies, RetryAfter } from "./Middleware.js"
import { PollIntercept, withPollingUntraced } from "./Polling.js"
import * as Prometheus from "./Prometheus.js"
import { StreamsClosing } from "./Sse.js"
import * as HttpMetrics from "./HttpMetrics.js"
import { StatusBodies } from "./StatusBody.js"

/** The API's handlers, error bodies, and the checks made before a handler runs (./Guards.ts, ./ContentType.ts). */
export const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([TasksLive, EventsLive, AudioLive, SystemLive, ErrorBodies, RetryAfter, Guards.layerConfig]),
  Layer.provide([ContentType.layer, StatusBodies.layer, StreamsClosing.layer, Prometheus.layer])
)

/**
 * Routes served beside the API, for the 405s of ./Methods.ts and the route label of request metrics: the docs and
 * the dashboard (./Dashboard.ts).
 */
const EXTRA_ROUTES: ReadonlyArray<Methods.Route> = [["/docs", "GET"], ["/openapi.json", "GET"], ...Dashboard.routes]

/**
 * The routes, the dashboard at `/`, `/docs`, `/openapi.json`, 405 for a known path with another method, and error
 * handling, served on whatever `HttpServer` is provided; the services the handlers use (`TaskRegistry`,
 * `Synthesizer`, `AudioStore`) come from outside (see `App.ts`). On a `NodeServer` (./NodeServer.ts), the
 * listener's, status polls of existing tasks are answered ahead of the platform (./Polling.ts).
 */
export const HttpAppLive = HttpApiBuilder.serve(
  HttpMetrics.countRequests(
    HttpMetrics.routeLabeller(
      Api,
      EXTRA_ROUTES.map(([path]) => path)
    )
  )
).pipe(
  withPollingUntraced,
  Layer.merge(PollIntercept),
  Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
  Layer.provide(Methods.layer(Api, EXTRA_ROUTES)),
  Layer.provide(Dashboard.layer()),
  Layer.provide(ApiLive),
  HttpServer.withLogAddress
)
