import type { HttpServerRequest } from "@effect/platform"
import { HttpMiddleware } from "@effect/platform"
import type { ConfigError, Context } from "effect"
import { Effect, Exit, FiberId, Layer, Option, Runtime, Scheduler, Schema } from "effect"
import type * as Http from "node:http"
import { TaskId } from "../../domain/TaskId.js"
import * as Settings from "../../services/Settings.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import * as Guards from "./Guards.js"
import { unsafeCountRequest } from "../metrics/HttpMetrics.js"
import { NodeServer } from "./NodeServer.js"
import { StatusBodies } from "../api/StatusBody.js"

// Status polling is the hot path of the API: clients ask for a task's status in a loop while it runs. By default a
// poll is served without a server span, and the poll of a task that exists is answered before the Effect platform
// sees it; `HTTP_TRACE_POLLING=true` serves every poll like any other request. Every other request (submit,
// cancel, list, health, audio) keeps its span. A poll that fails has none either, but an unexpected failure is
// still logged with its cause (../api/Middleware.ts).

const STATUS_PREFIX = "/api/tasks/"
const STATUS_ROUTE = "/api/tasks/:task_id"

/** The task id of a status poll, GET or HEAD /api/tasks/{task_id}, as sent (not decoded); else undefined. */
export const statusPollId = (request: {
  readonly method?: string | undefined
  readonly url?: string | undefined
}): string | undefined => {
  if (request.method !== "GET" && request.method !== "HEAD") return undefined
  const url = request.url
  if (url === undefined || !url.startsWith(STATUS_PREFIX)) return undefined
  const query = url.indexOf("?", STATUS_PREFIX.length)
  const id = url.slice(STATUS_PREFIX.length, query === -1 ? undefined : query)
  return id.length === 0 || id.includes("/") ? undefined : id
}

const isStatusPoll = (request: HttpServerRequest.HttpServerRequest) => statusPollId(request) !== undefined

/** Serves `layer`'s routes without the per-request server span on status polls, unless `HTTP_TRACE_POLLING`. */
export const withPollingUntraced = <A, E, R>(
  layer: Layer.Layer<A, E, R>
): Layer.Layer<A, E | ConfigError.ConfigError, R> =>
  Layer.unwrapEffect(
    Effect.map(Settings.tracePolling, (traced) =>
      traced ? layer : HttpMiddleware.withTracerDisabledWhen(layer, isStatusPoll)
    )
  )

const isTaskId = Schema.is(TaskId)

/**
 * Runs `effect` to its end if it can end without waiting, as a read of the in-memory registry (a `Ref`) does; a
 * read that would wait (a store over the network) is interrupted, and answers undefined.
 */
export const readNow = <A, E>(
  runtime: Runtime.Runtime<never>,
  effect: Effect.Effect<A, E>
): Exit.Exit<A, E> | undefined => {
  const scheduler = new Scheduler.SyncScheduler()
  const fiber = Runtime.runFork(runtime)(effect, { scheduler })
  scheduler.flush()
  const exit = fiber.unsafePoll()
  if (exit === null) fiber.unsafeInterruptAsFork(FiberId.none)
  return exit ?? undefined
}

/**
 * Answers the poll of a task that exists, from the registry (read at once: it is a `Ref`) and the status cache,
 * by writing exactly what the platform writes for the `status` handler's response: its status, its headers
 * (content type and length), its body unless the method is HEAD. Every other request, and every poll that it
 * cannot answer so (an id that is not a UUID, a task not found or expired, any failure), it leaves to the platform,
 * which answers it as it always has: the API's errors have one source.
 */
export const answerPoll =
  (
    registry: Context.Tag.Service<typeof TaskRegistry>,
    statusBody: Context.Tag.Service<typeof StatusBodies>,
    runtime: Runtime.Runtime<never>,
    guarded: (headers: Http.IncomingHttpHeaders) => boolean = () => true
  ) =>
  (request: Http.IncomingMessage, response: Http.ServerResponse): boolean => {
    const id = statusPollId(request)
    // A request the guards (./Guards.ts) would answer or decorate goes through them, in the platform.
    if (id === undefined || !isTaskId(id) || !guarded(request.headers)) return false
    const task = readNow(runtime, registry.get(id))
    if (task === undefined || !Exit.isSuccess(task)) return false
    const ok = statusBody(task.value)
    if (ok.body._tag !== "Uint8Array") return false
    response.writeHead(ok.status, ok.headers)
    if (request.method === "HEAD") response.end()
    else response.end(ok.body.body)
    // Counted as the platform's middleware counts the polls it answers (../metrics/HttpMetrics.ts).
    unsafeCountRequest(request.method ?? "GET", STATUS_ROUTE, ok.status)
    return true
  }

/**
 * Installs `answerPoll` on the node server, if the server is an `InterceptingServer` (./NodeServer.ts), the
 * registry reads in process (`readsInProcess`: the memory store) and polls are not to be traced. Answers of the
 * platform cannot be told from these: the same bytes and headers (checked by test/http/Polling.test.ts against a
 * server without it). What polls answered here skip is the platform itself:
 * a middleware that changes successful responses (one that adds headers, say) does not see them; that test fails
 * if one is added, and such a middleware must then apply here too.
 */
export const PollIntercept = Layer.scopedDiscard(
  Effect.gen(function* () {
    const server = yield* Effect.serviceOption(NodeServer)
    const registry = yield* TaskRegistry
    // Only where it is free: a store over the network cannot answer at once, and trying would cost a poll two reads.
    if (Option.isNone(server) || registry.readsInProcess !== true || (yield* Settings.tracePolling)) return
    const intercept = answerPoll(
      registry,
      yield* StatusBodies,
      yield* Effect.runtime<never>(),
      Guards.passes(yield* Settings.guards)
    )
    server.value.intercept = intercept
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (server.value.intercept === intercept) server.value.intercept = undefined
      })
    )
  })
).pipe(Layer.provide(StatusBodies.layer))
