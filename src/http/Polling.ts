import type { HttpApp, HttpServerRequest } from "@effect/platform"
import { HttpApiBuilder, HttpMiddleware, HttpServerRequest as Request } from "@effect/platform"
import type { ConfigError, Context } from "effect"
import { Config, Effect, Layer, Schema } from "effect"
import { TaskId } from "../domain/TaskId.js"
import { TaskRegistry } from "../services/TaskRegistry.js"
import { Api } from "./Api.js"
import { StatusBodies } from "./StatusBody.js"

// Status polling is the hot path of the API: clients ask for a task's status in a loop while it runs. By default a
// poll is served without a server span and without the router; `HTTP_TRACE_POLLING=true` serves it like any other
// request. Every other request (submit, cancel, list, health, audio...) keeps its span. A poll that fails has none
// either, but an unexpected failure is still logged with its cause (./Middleware.ts).

const STATUS_PREFIX = "/api/tasks/"

/** The task id of a status poll, GET or HEAD /api/tasks/{task_id}, as sent (not decoded); else undefined. */
export const statusPollId = (request: HttpServerRequest.HttpServerRequest): string | undefined => {
  if (request.method !== "GET" && request.method !== "HEAD") return undefined
  const url = request.url
  if (!url.startsWith(STATUS_PREFIX)) return undefined
  const query = url.indexOf("?", STATUS_PREFIX.length)
  const id = url.slice(STATUS_PREFIX.length, query === -1 ? undefined : query)
  return id.length === 0 || id.includes("/") ? undefined : id
}

const isStatusPoll = (request: HttpServerRequest.HttpServerRequest) => statusPollId(request) !== undefined

/** `HTTP_TRACE_POLLING`: give status polls a server span, and the router, like every other request. */
export const TracePolling = Config.boolean("HTTP_TRACE_POLLING").pipe(
  Config.withDefault(false),
  Config.withDescription(
    "whether GET /api/tasks/{task_id} is traced and routed like other requests; off, as polls are hot"
  )
)

/** Serves `layer`'s routes without the per-request server span on status polls, unless `HTTP_TRACE_POLLING`. */
export const withPollingUntraced = <A, E, R>(
  layer: Layer.Layer<A, E, R>
): Layer.Layer<A, E | ConfigError.ConfigError, R> =>
  Layer.unwrapEffect(
    Effect.map(TracePolling, (traced) => (traced ? layer : HttpMiddleware.withTracerDisabledWhen(layer, isStatusPoll)))
  )

const isTaskId = Schema.is(TaskId)

/**
 * Answers the poll of a task that exists straight from the registry, with the very response the `status` handler
 * would build (from the same cache), without the router, the endpoint's decoding and the handler's context around
 * it. Anything else (not a poll, an id that is not a UUID, a task not found or expired, a failure of any kind) goes
 * on to `app`, the router, which answers it as it always has: errors have one source.
 */
export const statusFastPath =
  (registry: Context.Tag.Service<typeof TaskRegistry>, statusBody: Context.Tag.Service<typeof StatusBodies>) =>
  (app: HttpApp.Default): HttpApp.Default =>
    Effect.flatMap(Request.HttpServerRequest, (request) => {
      const id = statusPollId(request)
      if (id === undefined || !isTaskId(id)) return app
      return registry.get(id).pipe(
        Effect.map((task) => statusBody(task)),
        Effect.catchAllCause(() => app)
      )
    })

/**
 * The fast path as API middleware, unless `HTTP_TRACE_POLLING`. It must be the innermost middleware, so that
 * every other one (error bodies, and any that adds headers) still wraps polls: `ApiLive` builds it first.
 */
export const StatusFastPath = HttpApiBuilder.middleware(
  Api,
  Effect.gen(function* () {
    const fastPath = statusFastPath(yield* TaskRegistry, yield* StatusBodies)
    return (yield* TracePolling) ? (app: HttpApp.Default) => app : fastPath
  })
)
