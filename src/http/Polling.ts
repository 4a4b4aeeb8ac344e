import type { HttpServerRequest } from "@effect/platform"
import { HttpMiddleware } from "@effect/platform"
import type { ConfigError } from "effect"
import { Config, Effect, Layer } from "effect"

// Status polling is the hot path of the API: clients ask for a task's status in a loop while it runs. By default a
// poll is served without a server span; `HTTP_TRACE_POLLING=true` serves it like any other request. Every other
// request (submit, cancel, list, health, audio...) keeps its span. A poll that fails has none either, but an
// unexpected failure is still logged with its cause (./Middleware.ts).

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

/** `HTTP_TRACE_POLLING`: give status polls a server span like every other request. */
export const TracePolling = Config.boolean("HTTP_TRACE_POLLING").pipe(
  Config.withDefault(false),
  Config.withDescription("whether GET /api/tasks/{task_id} is traced like other requests; off, as polls are hot")
)

/** Serves `layer`'s routes without the per-request server span on status polls, unless `HTTP_TRACE_POLLING`. */
export const withPollingUntraced = <A, E, R>(
  layer: Layer.Layer<A, E, R>
): Layer.Layer<A, E | ConfigError.ConfigError, R> =>
  Layer.unwrapEffect(
    Effect.map(TracePolling, (traced) => (traced ? layer : HttpMiddleware.withTracerDisabledWhen(layer, isStatusPoll)))
  )
