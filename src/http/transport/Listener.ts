import { HttpServer } from "@effect/platform"
import type { ServeError } from "@effect/platform/HttpServerError"
import { NodeHttpServer } from "@effect/platform-node"
import type { Scope } from "effect"
import { Context, Duration, Effect, Layer, Predicate, Schedule } from "effect"
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import type { ListenerOptions } from "../../services/Settings.js"
import * as Settings from "../../services/Settings.js"
import { InterceptingServer, NodeServer } from "./NodeServer.js"

export type { ListenerOptions } from "../../services/Settings.js"

/** The embedded defaults, as listed in the README. */
export const defaults: ListenerOptions = Settings.listenerDefaults

/** Seconds a client is asked to wait when it arrives before the app is ready, or after it has stopped. */
export const NOT_READY_RETRY_AFTER = 1

const notReady = JSON.stringify({
  error: "ServiceUnavailable",
  message: `The server is starting up or shutting down; retry in ${NOT_READY_RETRY_AFTER} second(s)`
})

/**
 * The port is open a moment before the app is attached (`HttpApiBuilder.serve` attaches it once the routes are
 * built), and the app is detached a moment before the port closes. A request in either window would otherwise
 * wait forever, with no listener to answer it. Every `request` listener sees every request, so this one stands
 * aside whenever another is attached.
 */
const answerWhileDetached = (server: Server) => (_: IncomingMessage, res: ServerResponse) => {
  if (server.listenerCount("request") > 1) return
  res.writeHead(503, {
    "content-type": "application/json",
    "retry-after": String(NOT_READY_RETRY_AFTER),
    connection: "close"
  })
  res.end(notReady)
}

/**
 * Stops accepting connections, closes idle ones, lets requests under way finish for `grace`, then closes whatever
 * is still open. Node's own `close` waits for every connection to end and stops enforcing the header and request
 * timeouts meanwhile, so a single client trickling a request would otherwise hold the process for as long as it
 * liked.
 */
const closeWithin = (server: Server, grace: Duration.Duration) =>
  Effect.suspend(() => {
    if (!server.listening) return Effect.void
    const closed = Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
    // A keep-alive connection whose response ends during the grace period is idle from then on; close it too.
    const closeIdle = Effect.repeat(
      Effect.sync(() => server.closeIdleConnections()),
      Schedule.spaced("100 millis")
    )
    const closeAll = Effect.sleep(grace).pipe(
      Effect.zipRight(Effect.sync(() => server.closeAllConnections())),
      Effect.zipRight(Effect.never)
    )
    // Run as a finalizer, so uninterruptible; the race must be able to stop the two that do not end by themselves.
    return Effect.interruptible(Effect.raceAll([closed, closeIdle, closeAll]))
  })

/**
 * The server cannot listen where it was told to: an operator's problem, said in one line naming the setting. Not an
 * `Error`, so that the line that reports it at exit carries no stack trace: nothing in the program went wrong.
 */
export class CannotListen {
  readonly _tag = "CannotListen"
  constructor(readonly message: string) {}
  toString() {
    return this.message
  }
}

/**
 * A node `http` server with the given timeouts, listening on `host`:`port`, that answers 503 while no app is
 * attached and closes within `shutdownGrace` when its scope closes. `NodeHttpServer.make` does the rest: it
 * attaches the app's handler on `serve` and detaches it when the app's scope closes.
 */
export const make = (
  options: ListenerOptions
): Effect.Effect<
  { readonly http: HttpServer.HttpServer; readonly node: InterceptingServer },
  ServeError | CannotListen,
  Scope.Scope
> =>
  Effect.gen(function* () {
    const headersMillis = Duration.toMillis(options.headersTimeout)
    // An `InterceptingServer`, so that the hot status poll can be answered ahead of the platform (./Polling.ts).
    const server = new InterceptingServer({
      headersTimeout: headersMillis,
      requestTimeout: Duration.toMillis(options.requestTimeout),
      keepAliveTimeout: Duration.toMillis(options.keepAliveTimeout),
      // Node checks both timeouts only this often (every 30 s by default, which would stretch a 10 s limit to up to
      // 40 s); check often enough that a limit holds to within a quarter of itself.
      connectionsCheckingInterval: Math.ceil(Math.min(1000, headersMillis / 4))
    })
    server.on("request", answerWhileDetached(server))
    const httpServer = yield* NodeHttpServer.make(() => server, { host: options.host, port: options.port }).pipe(
      Effect.mapError((error) => {
        const code: unknown = Predicate.hasProperty(error.cause, "code") ? error.cause.code : undefined
        const where = `${options.host}:${options.port}`
        if (code === "EADDRINUSE") {
          return new CannotListen(`Cannot listen on ${where}: the port is in use; stop what listens there or set PORT`)
        }
        if (code === "EACCES") {
          return new CannotListen(`Cannot listen on ${where}: not allowed; choose a PORT above 1023, or set HOST`)
        }
        if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND") {
          return new CannotListen(`Cannot listen on ${where}: no such address on this machine; set HOST`)
        }
        return error
      })
    )
    // Added after `make`'s own finalizer, so it runs first; `make`'s then finds the server closed.
    yield* Effect.addFinalizer(() => closeWithin(server, options.shutdownGrace))
    return { http: httpServer, node: server }
  })

/** The listener and the platform services that serving over node needs, with options given in code. */
export const layer = (options: Partial<ListenerOptions> = {}) =>
  Layer.mergeAll(
    Layer.scopedContext(
      Effect.map(make({ ...defaults, ...options }), ({ http, node }) =>
        Context.make(HttpServer.HttpServer, http).pipe(Context.add(NodeServer, node))
      )
    ),
    NodeHttpServer.layerContext
  )

/** The listener configured from the `ConfigProvider` (`HOST`, `PORT`, `HTTP_*`). */
export const layerConfig = Layer.unwrapEffect(Effect.map(Settings.listener, layer))
