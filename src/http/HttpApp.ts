import { HttpApiBuilder, HttpApiSwagger, HttpServer } from "@effect/platform"
import { Deferred, Effect, Layer, Option } from "effect"
import { RedisConfig, redact } from "../services/RedisConfig.js"
import { RegistryConfig } from "../services/RegistryConfig.js"
import { TaskRegistry } from "../services/TaskRegistry.js"
import { Api } from "./api/Api.js"
import * as ContentType from "./api/ContentType.js"
import * as Dashboard from "./Dashboard.js"
import * as Guards from "./transport/Guards.js"
import { AudioLive } from "./api/Audio.js"
import { EventsLive } from "./live/Events.js"
import { SystemLive } from "./api/System.js"
import { TasksLive } from "./api/Tasks.js"
import * as Methods from "./transport/Methods.js"
import { ErrorBodies, RetryAfter } from "./api/Middleware.js"
import { PollIntercept, withPollingUntraced } from "./transport/Polling.js"
import * as Prometheus from "./metrics/Prometheus.js"
import { StreamsClosing } from "./live/Sse.js"
import { LiveFeeds } from "./live/LiveFeeds.js"
import { StreamIntercept } from "./live/StreamIntercept.js"
import * as HttpMetrics from "./metrics/HttpMetrics.js"
import { StatusBodies } from "./api/StatusBody.js"

/** The API's handlers, error bodies, and the checks made before a handler runs (./transport/Guards.ts, ./api/ContentType.ts). */
export const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([TasksLive, EventsLive, AudioLive, SystemLive, ErrorBodies, RetryAfter, Guards.layerConfig]),
  Layer.provide([ContentType.layer, StatusBodies.layer, Prometheus.layer])
)

/**
 * The event streams' shared feeds, one set for the API's handlers and for the streams served ahead of the platform
 * (./live/StreamIntercept.ts), with the signal that ends them when the app closes.
 */
const LiveFeedsLive = LiveFeeds.layer.pipe(Layer.provideMerge(StreamsClosing.layer))

/**
 * Ends the event streams as the app begins to close, before the layers under it are released: a stream still
 * ending when the node server closes would keep its (then idle, kept-alive) connection, and the close waiting.
 */
const EndStreamsFirst = Layer.scopedDiscard(
  Effect.flatMap(StreamsClosing, (closing) => Effect.addFinalizer(() => Deferred.succeed(closing, undefined)))
)

/**
 * Routes served beside the API, for the 405s of ./transport/Methods.ts and the route label of request metrics: the docs and
 * the dashboard (./Dashboard.ts).
 */
const EXTRA_ROUTES: ReadonlyArray<Methods.Route> = [["/docs", "GET"], ["/openapi.json", "GET"], ...Dashboard.routes]

/**
 * The one line that says the server is up: where it listens; the store, and for Redis where it is (without its
 * password), under which prefix, and what it found there, so that a `REDIS_URL` pointing at the wrong registry shows;
 * and how many workers run tasks here.
 */
const startupLine = HttpServer.addressFormattedWith((address) =>
  Effect.gen(function* () {
    const registry = yield* TaskRegistry
    const redis = yield* Effect.serviceOption(RedisConfig)
    const workers = yield* Effect.serviceOption(RegistryConfig)
    const found = yield* registry.stats.pipe(
      Effect.map(
        (s) =>
          `found ${s.pending} pending, ${s.processing} processing, ${s.finished} finished, ` +
          `${s.tombstones} tombstone(s)`
      ),
      Effect.orElseSucceed(() => "cannot be reached yet")
    )
    const store = Option.match(redis, {
      onNone: () => "in memory",
      onSome: (r) => `Redis at ${redact(r.url)} under ${r.prefix}`
    })
    const running = Option.match(workers, {
      onNone: () => "",
      onSome: ({ concurrency }) => `; ${concurrency} worker(s)`
    })
    yield* Effect.logInfo(`Listening on ${address}; store: ${store} (${found})${running}`)
  })
)

/**
 * The routes, the dashboard at `/`, `/docs`, `/openapi.json`, 405 for a known path with another method, and error
 * handling, served on whatever `HttpServer` is provided; the services the handlers use (`TaskRegistry`,
 * `Synthesizer`, `AudioStore`) come from outside (see `App.ts`). On a `NodeServer` (./transport/NodeServer.ts), the
 * listener's, status polls of existing tasks are answered ahead of the platform (./transport/Polling.ts).
 */
const countRequests = HttpMetrics.countRequests(
  HttpMetrics.routeLabeller(
    Api,
    EXTRA_ROUTES.map(([path]) => path)
  )
)
const otherMethods = Methods.otherMethods(Api, EXTRA_ROUTES)

export const HttpAppLive = HttpApiBuilder.serve((app) => countRequests(otherMethods(app))).pipe(
  withPollingUntraced,
  Layer.merge(PollIntercept),
  Layer.merge(StreamIntercept),
  Layer.merge(EndStreamsFirst),
  Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
  Layer.provide(Methods.layer(Api, EXTRA_ROUTES)),
  Layer.provide(Dashboard.layer()),
  Layer.provide(ApiLive),
  Layer.provide(LiveFeedsLive),
  (served) => Layer.effectDiscard(startupLine).pipe(Layer.provideMerge(served))
)
