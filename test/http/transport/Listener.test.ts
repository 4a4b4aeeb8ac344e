import { HttpServer, HttpServerResponse } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Duration, Effect, Exit, Layer, Scope } from "effect"
import * as Listener from "../../../src/http/transport/Listener.js"
import * as Settings from "../../../src/services/Settings.js"
import { trickle } from "../../support/net.js"

const portOf = (server: HttpServer.HttpServer) =>
  server.address._tag === "TcpAddress" ? server.address.port : Number.NaN

/** A request on a connection of its own, so that no pooled connection carries over between checks. */
const request = (port: number, path = "/") =>
  Effect.promise(async () => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { connection: "close" } })
    return { status: response.status, headers: response.headers, text: await response.text() }
  })

/** The listener built in `scope`, as a layer's release would close it. */
const listen = (scope: Scope.Scope, options: Partial<Listener.ListenerOptions> = {}) =>
  Layer.buildWithScope(Listener.layer({ port: 0, ...options }), scope).pipe(
    Effect.map((context) => Context.get(context, HttpServer.HttpServer))
  )

describe("Listener", () => {
  it.live("answers 503 with Retry-After and a JSON body while no app is attached: before serve and after", () =>
    Effect.gen(function* () {
      const server = yield* listen(yield* Effect.scope)
      const port = portOf(server)
      const starting = yield* request(port, "/api/health")
      expect(starting.status).toBe(503)
      expect(starting.headers.get("retry-after")).toBe("1")
      expect(starting.headers.get("content-type")).toBe("application/json")
      expect(JSON.parse(starting.text)).toEqual({
        error: "ServiceUnavailable",
        message: "The server is starting up or shutting down; retry in 1 second(s)"
      })

      const app = yield* Scope.make()
      yield* server.serve(Effect.succeed(HttpServerResponse.text("ready"))).pipe(Scope.extend(app))
      expect(yield* request(port)).toMatchObject({ status: 200, text: "ready" })

      yield* Scope.close(app, Exit.void)
      expect((yield* request(port)).status).toBe(503)
    }).pipe(Effect.scoped)
  )

  it.live("on close, lets a request under way finish, cuts a trickling client after the grace period", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const server = yield* listen(scope, { shutdownGrace: Duration.millis(600) })
      const port = portOf(server)
      yield* server
        .serve(Effect.delay(Effect.succeed(HttpServerResponse.text("slow")), "300 millis"))
        .pipe(Scope.extend(scope))
      const slowClient = trickle(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n", "X-Slow: 1\r\n")
      yield* Effect.promise(() => slowClient.connected)
      const underWay = yield* Effect.fork(request(port))
      yield* Effect.sleep("50 millis")

      const started = Date.now()
      yield* Scope.close(scope, Exit.void)
      const closedAfter = Date.now() - started

      expect(yield* underWay.await).toMatchObject({ _tag: "Success", value: { status: 200, text: "slow" } })
      const cut = yield* Effect.promise(() => slowClient.closed)
      expect(cut.received).toBe("")
      expect(closedAfter).toBeGreaterThanOrEqual(550)
      expect(closedAfter).toBeLessThan(1500)
    })
  )

  it("refuses a header timeout longer than the request timeout, naming both variables", () => {
    const env = new Map([
      ["HTTP_HEADERS_TIMEOUT", "40"],
      ["HTTP_REQUEST_TIMEOUT", "30"]
    ])
    const read = Effect.runSync(
      Effect.either(Effect.withConfigProvider(Settings.listener, ConfigProvider.fromMap(env)))
    )
    expect(read._tag).toBe("Left")
    expect(String(read._tag === "Left" ? read.left : "")).toMatch(/HTTP_HEADERS_TIMEOUT.*HTTP_REQUEST_TIMEOUT/)
  })
})
