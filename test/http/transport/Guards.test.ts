import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import * as Settings from "../../../src/services/Settings.js"
import * as TestSynthesizer from "../../../src/layers/speech/TestSynthesizer.js"
import { batch, get, send, serverLayer } from "../../support/http.js"

const story = JSON.stringify(batch(1))

/** A POST of the submit body with the given headers, as a page or a script would send it. */
const submitWith = (headers: Record<string, string>, body = story) =>
  send(
    HttpClientRequest.post("/api/tasks").pipe(HttpClientRequest.bodyText(body), HttpClientRequest.setHeaders(headers))
  )

const unfinished = Effect.map(get("/api/health"), (reply) => reply.body.tasks.pending + reply.body.tasks.processing)

// Tasks never finish here, so that the health counts show whether anything was submitted.
const slowEngine = TestSynthesizer.layer({ delay: "1 hour" })

describe("HTTP: what web pages can do", () => {
  it.live("refuses a body that is not application/json with 415 naming the type, and submits nothing", () =>
    Effect.gen(function* () {
      for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
        const reply = yield* submitWith({ "content-type": type })
        expect(reply.status, type).toBe(415)
        expect(reply.body).toEqual({
          error: "UnsupportedMediaType",
          message: `Send the body as application/json (Content-Type: application/json); got ${type.split(";")[0]}`
        })
      }
      const untyped = yield* send(HttpClientRequest.post("/api/tasks").pipe(HttpClientRequest.bodyText(story, "")))
      expect(untyped.status).toBe(415)
      expect(yield* unfinished).toBe(0)
      // As the README's curl examples send it, with a charset, or in capitals: accepted.
      for (const type of ["application/json", "application/json; charset=utf-8", "Application/JSON"]) {
        expect((yield* submitWith({ "content-type": type, host: "localhost:8000" })).status, type).toBe(202)
      }
    }).pipe(Effect.provide(serverLayer({ TASK_MAX_PENDING: "10" }, slowEngine)))
  )

  it.live(
    "refuses a cross-origin text/plain POST (a page's form or no-cors fetch), and any other cross-origin write",
    () =>
      Effect.gen(function* () {
        const evil = { origin: "http://evil.example", host: "localhost:8000" }
        for (const headers of [
          { ...evil, "content-type": "text/plain" },
          { ...evil, "content-type": "application/json" }
        ]) {
          const reply = yield* submitWith(headers)
          expect(reply.status).toBe(403)
          expect(reply.body).toEqual({
            error: "CrossOriginRefused",
            message: "A page of http://evil.example may not send POST requests here; list it in CORS_ORIGINS"
          })
        }
        const id = "00000000-0000-4000-8000-000000000000"
        const cancel = yield* send(HttpClientRequest.del(`/api/tasks/${id}`).pipe(HttpClientRequest.setHeaders(evil)))
        expect(cancel.status).toBe(403)
        expect(yield* unfinished).toBe(0)
        // The server's own pages (the same origin as the Host they reach) may; so may scripts, which send no Origin.
        const own = yield* submitWith({
          origin: "http://localhost:8000",
          host: "localhost:8000",
          "content-type": "application/json"
        })
        expect(own.status).toBe(202)
        expect(own.headers["access-control-allow-origin"]).toBeUndefined()
      }).pipe(Effect.provide(serverLayer({}, slowEngine)))
  )

  it.live("answers preflights for CORS_ORIGINS alone (none by default)", () =>
    Effect.gen(function* () {
      const preflight = (origin: string) =>
        send(
          HttpClientRequest.options("/api/tasks").pipe(
            HttpClientRequest.setHeaders({
              origin,
              "access-control-request-method": "POST",
              "access-control-request-headers": "content-type"
            })
          )
        )
      const granted = yield* preflight("https://studio.example")
      expect(granted.status).toBe(204)
      expect(granted.headers).toMatchObject({
        "access-control-allow-origin": "https://studio.example",
        "access-control-allow-methods": "GET, HEAD, POST, DELETE",
        "access-control-allow-headers": "content-type"
      })
      const submitted = yield* submitWith({ origin: "https://studio.example", "content-type": "application/json" })
      expect(submitted.status).toBe(202)
      expect(submitted.headers["access-control-allow-origin"]).toBe("https://studio.example")

      const refused = yield* preflight("http://evil.example")
      expect(refused.headers["access-control-allow-origin"]).toBeUndefined()
      expect(refused.status).toBe(405)
      expect(refused.headers["allow"]).toBe("GET, POST, HEAD")
    }).pipe(Effect.provide(serverLayer({ CORS_ORIGINS: "https://studio.example,http://localhost:5173" })))
  )

  it.live("without CORS_ORIGINS, grants no preflight", () =>
    Effect.gen(function* () {
      const reply = yield* send(
        HttpClientRequest.options("/api/tasks").pipe(
          HttpClientRequest.setHeaders({ origin: "http://localhost:5173", "access-control-request-method": "POST" })
        )
      )
      expect(reply.status).toBe(405)
      expect(reply.headers["access-control-allow-origin"]).toBeUndefined()
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("refuses a Host that is not this server's (DNS rebinding) with 421; localhost and addresses pass", () =>
    Effect.gen(function* () {
      const asHost = (host: string) =>
        send(HttpClientRequest.get("/api/health").pipe(HttpClientRequest.setHeader("host", host)))
      for (const host of ["evil.example", "evil.example:8000", "localhost.evil.example", "tasks.example.org"]) {
        const reply = yield* asHost(host)
        expect(reply.status, host).toBe(421)
        expect(reply.body).toEqual({
          error: "HostNotAllowed",
          message: `This server does not answer for host "${host}"; list its name in ALLOWED_HOSTS to allow it`
        })
      }
      for (const host of [
        "localhost:8000",
        "LOCALHOST",
        "localhost.:8000",
        "app.localhost:8000",
        "127.0.0.1:8000",
        "[::1]:8000",
        "10.1.2.3",
        "tasks.example"
      ]) {
        expect((yield* asHost(host)).status, host).toBe(200)
      }
    }).pipe(Effect.provide(serverLayer({ ALLOWED_HOSTS: "tasks.example" })))
  )

  it.live("applies the same checks to the status poll, which is answered ahead of the platform when it passes", () =>
    Effect.gen(function* () {
      const task = yield* submitWith({ "content-type": "application/json" })
      const poll = (headers: Record<string, string>) =>
        send(HttpClientRequest.get(`/api/tasks/${task.body.task_id}`).pipe(HttpClientRequest.setHeaders(headers)))
      expect((yield* poll({ host: "localhost:8000" })).status).toBe(200)
      const rebound = yield* poll({ host: "evil.example" })
      expect(rebound.status).toBe(421)
      expect(rebound.body.error).toBe("HostNotAllowed")
      // A page of a listed origin reads the status, with the CORS header the platform adds; another page does not.
      const listed = yield* poll({ origin: "https://app.example" })
      expect(listed.status).toBe(200)
      expect(listed.headers["access-control-allow-origin"]).toBe("https://app.example")
      expect((yield* poll({ origin: "https://evil.example" })).headers["access-control-allow-origin"]).toBeUndefined()
    }).pipe(Effect.provide(serverLayer({ CORS_ORIGINS: "https://app.example" }, slowEngine)))
  )

  it.live("allows any Host with ALLOWED_HOSTS=*", () =>
    Effect.gen(function* () {
      const reply = yield* send(
        HttpClientRequest.get("/api/health").pipe(HttpClientRequest.setHeader("host", "evil.example"))
      )
      expect(reply.status).toBe(200)
    }).pipe(Effect.provide(serverLayer({ ALLOWED_HOSTS: "*" })))
  )
})

describe("guard settings", () => {
  it("refuse an origin with a path and a host with a port, naming the variable", () => {
    const read = (env: Record<string, string>) =>
      Effect.runSync(
        Effect.flip(Effect.withConfigProvider(Settings.guards, ConfigProvider.fromMap(new Map(Object.entries(env)))))
      )
    expect(String(read({ CORS_ORIGINS: "https://studio.example/" }))).toMatch(/CORS_ORIGINS must be a comma-separated/)
    expect(String(read({ ALLOWED_HOSTS: "tasks.example:8000" }))).toMatch(/ALLOWED_HOSTS must be a comma-separated/)
  })
})
