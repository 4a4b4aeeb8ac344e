import { Effect, Exit, Layer, Option, Runtime, Schema, Scope } from "effect"
import type * as Http from "node:http"
import type { Readable } from "node:stream"
import { TaskId } from "../../domain/TaskId.js"
import * as Settings from "../../services/Settings.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"
import { unsafeCountRequest } from "../metrics/HttpMetrics.js"
import * as Guards from "../transport/Guards.js"
import { NodeServer } from "../transport/NodeServer.js"
import { readNow } from "../transport/Polling.js"
import { LiveFeeds } from "./LiveFeeds.js"
import { EVENT_STREAM_HEADERS } from "./Sse.js"

// An open event stream is held by its connection for as long as the client stays: through the platform, that is a
// fiber per stream, suspended on its response with the request's scope, span and middleware frames (some 25 KB of
// heap each, measured with a heap snapshot: BENCHMARKS.md §6). A stream that can be opened at once (the in-memory
// registry; no `Last-Event-ID`; no CORS or host check due) is served here instead, ahead of the platform, from the
// same shared feeds (./LiveFeeds.ts): a scope of its own, closed when the connection closes, and the frames piped to
// the socket. Every other request, and every stream that would not answer 200 (204, 404, 410, a failure), is left
// to the platform, which answers it as it always has.

const TASK_STREAM = /^\/api\/tasks\/([^/?#]+)\/events$/
const isTaskId = Schema.is(TaskId)

/** The stream `open` makes, with the scope that holds it open; the scope closed again if it made none. */
const openIn = <E>(open: Effect.Effect<Option.Option<Readable>, E, Scope.Scope>) =>
  Effect.flatMap(Scope.make(), (scope) =>
    Scope.extend(open, scope).pipe(
      Effect.onExit((exit) =>
        Exit.isSuccess(exit) && Option.isSome(exit.value) ? Effect.void : Scope.close(scope, Exit.void)
      ),
      Effect.map(Option.map((frames) => [frames, scope] as const))
    )
  )

/** Serves GET /api/tasks/{task_id}/events and GET /api/events when they can be opened at once (see above). */
export const answerStream =
  (
    live: typeof LiveFeeds.Service,
    runtime: Runtime.Runtime<never>,
    guarded: (headers: Http.IncomingHttpHeaders) => boolean = () => true
  ) =>
  (request: Http.IncomingMessage, response: Http.ServerResponse): boolean => {
    if (request.method !== "GET" || request.headers["last-event-id"] !== undefined) return false
    const url = request.url ?? ""
    const task = url === "/api/events" ? undefined : TASK_STREAM.exec(url)?.[1]
    if (task === undefined && url !== "/api/events") return false
    if ((task !== undefined && !isTaskId(task)) || !guarded(request.headers)) return false
    const exit = readNow(runtime, openIn(task === undefined ? Effect.map(live.all, Option.some) : live.task(task, -1)))
    if (exit === undefined || Exit.isFailure(exit) || Option.isNone(exit.value)) return false
    const [frames, scope] = exit.value.value
    response.writeHead(200, EVENT_STREAM_HEADERS)
    // The response ends with the frames, and is cut if they are destroyed before their end, as the platform's
    // `pipeline` does; `pipe` and one listener, not `pipeline`, whose listeners on both streams held ~3 KB each.
    frames.pipe(response)
    frames.once("close", () => {
      if (!frames.readableEnded) response.destroy()
    })
    response.on("close", () => {
      // Counted as the platform counts a stream: 200 when it ended, 499 when the client went first.
      unsafeCountRequest(
        "GET",
        task === undefined ? "/api/events" : "/api/tasks/:task_id/events",
        response.writableFinished ? 200 : 499
      )
      Runtime.runFork(runtime)(Scope.close(scope, Exit.void))
    })
    return true
  }

/**
 * Installs `answerStream` on the node server, if the server is an `InterceptingServer` (../transport/NodeServer.ts)
 * and the registry reads in process (`readsInProcess`: the memory store), as ../transport/Polling.ts does for polls.
 */
export const StreamIntercept = Layer.scopedDiscard(
  Effect.gen(function* () {
    const server = yield* Effect.serviceOption(NodeServer)
    const registry = yield* TaskRegistry
    if (Option.isNone(server) || registry.readsInProcess !== true) return
    const intercept = answerStream(
      yield* LiveFeeds,
      yield* Effect.runtime<never>(),
      Guards.passes(yield* Settings.guards)
    )
    server.value.streamIntercept = intercept
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (server.value.streamIntercept === intercept) server.value.streamIntercept = undefined
      })
    )
  })
)
