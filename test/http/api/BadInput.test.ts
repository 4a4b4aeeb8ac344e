import { HttpClient, HttpClientRequest, HttpServer } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { batch, get, post, send, serverLayer } from "../../support/http.js"
import { exchange } from "../../support/net.js"

const portOf = Effect.map(HttpServer.HttpServer, (server) =>
  server.address._tag === "TcpAddress" ? server.address.port : Number.NaN
)

/** A chunked request of `chunks` chunks of `size` bytes each, then the last chunk. */
function* chunkedPost(path: string, chunks: number, size: number) {
  yield `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n`
  yield "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
  const chunk = new Uint8Array(size).fill(0x20)
  for (let i = 0; i < chunks; i++) (yield `${size.toString(16)}\r\n`, yield chunk, yield "\r\n")
  yield "0\r\n\r\n"
}

describe("HTTP: bad input gets the right answer", () => {
  it.live("answers JSON nested thousands deep with a 400 that says so, not a 500", () =>
    Effect.gen(function* () {
      for (const depth of [5_000, 100_000]) {
        const deep = "[".repeat(depth) + "]".repeat(depth)
        for (const body of [deep, `{"segments":${deep}}`, `{"segments":[{"segment_id":"s1","text":${deep}}]}`]) {
          const reply = yield* post("/api/tasks", body)
          expect(reply.status).toBe(400)
          expect(reply.body).toMatchObject({ error: "InvalidRequest", issues: [{ field: "body" }] })
          expect(reply.body.message).toBe("The request body nests more than 32 levels deep")
        }
      }
      // Nesting up to the limit is only a wrong shape.
      const nested = yield* post("/api/tasks", `{"segments":${"[".repeat(31)}${"]".repeat(31)}}`)
      expect(nested.status).toBe(400)
      expect(nested.body.issues[0].field).toBe("segments[0]")
      expect((yield* post("/api/tasks", JSON.stringify(batch(1)))).status).toBe(202)
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("answers a chunked body over 2 MiB with a 413 that reaches the client", () =>
    Effect.gen(function* () {
      const port = yield* portOf
      const reply = yield* Effect.promise(() => exchange(port, chunkedPost("/api/tasks", 48, 64 * 1024)))
      expect(reply.error).toBeUndefined()
      expect(reply.received).toMatch(/^HTTP\/1\.1 413 /)
      const body = JSON.parse(reply.received.slice(reply.received.indexOf("\r\n\r\n") + 4))
      expect(body).toMatchObject({ error: "PayloadTooLarge" })
      // Just under the limit is read whole (and then is not JSON).
      const under = yield* Effect.promise(() => exchange(port, chunkedPost("/api/tasks", 31, 64 * 1024)))
      expect(under.received).toMatch(/^HTTP\/1\.1 400 /)
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("answers a known path asked with another method with 405, Allow and a JSON error", () =>
    Effect.gen(function* () {
      const id = "00000000-0000-4000-8000-000000000000"
      const cases = [
        [HttpClientRequest.put("/api/tasks"), "GET, POST, HEAD"],
        [HttpClientRequest.patch("/api/tasks"), "GET, POST, HEAD"],
        [HttpClientRequest.options("/api/tasks"), "GET, POST, HEAD"],
        [HttpClientRequest.put(`/api/tasks/${id}`), "GET, DELETE, HEAD"],
        [HttpClientRequest.post(`/api/tasks/${id}`), "GET, DELETE, HEAD"],
        [HttpClientRequest.del(`/audio/${id}/s1.wav`), "GET, HEAD"],
        [HttpClientRequest.post("/api/health"), "GET, HEAD"],
        [HttpClientRequest.put("/docs"), "GET, HEAD"],
        [HttpClientRequest.options("/openapi.json"), "GET, HEAD"]
      ] as const
      for (const [request, allow] of cases) {
        const reply = yield* send(request)
        expect(reply.status, `${request.method} ${request.url}`).toBe(405)
        expect(reply.headers["allow"]).toBe(allow)
        const path = new URL(request.url, "http://x").pathname
        expect(reply.body).toEqual({
          error: "MethodNotAllowed",
          message: `${request.method} is not allowed on ${path}; use ${allow}`
        })
      }
      // Paths that do not exist stay 404, whatever the method; the allowed methods still work.
      expect((yield* send(HttpClientRequest.put("/api/nope"))).body.error).toBe("RouteNotFound")
      expect((yield* get(`/api/tasks/${id}`)).status).toBe(404)
      const client = yield* HttpClient.HttpClient
      expect((yield* client.execute(HttpClientRequest.head("/api/health"))).status).toBe(200)
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("answers a method the router has no routes for (TRACE, CONNECT-like tokens) with 405 on a known path", () =>
    Effect.gen(function* () {
      const port = yield* portOf
      for (const [method, path, allow] of [
        ["TRACE", "/api/tasks", "GET, POST, HEAD"],
        ["TRACE", "/api/tasks/00000000-0000-4000-8000-000000000000?x=1", "GET, DELETE, HEAD"],
        ["PURGE", "/api/health", "GET, HEAD"]
      ] as const) {
        const reply = yield* Effect.promise(() =>
          exchange(port, [`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`])
        )
        expect(reply.received, `${method} ${path}`).toMatch(/^HTTP\/1\.1 405 /)
        expect(reply.received.toLowerCase()).toContain(`allow: ${allow.toLowerCase()}`)
        expect(reply.received).toContain(`"${method} is not allowed on ${path.split("?")[0]}; use ${allow}"`)
      }
      // A path that does not exist stays 404.
      const unknown = yield* Effect.promise(() =>
        exchange(port, ["TRACE /api/nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"])
      )
      expect(unknown.received).toMatch(/^HTTP\/1\.1 404 /)
    }).pipe(Effect.provide(serverLayer()))
  )
})
