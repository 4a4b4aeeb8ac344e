import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readdirSync } from "node:fs"
import { BUILT } from "../../src/http/Dashboard.js"
import { get, send, serverLayer } from "../support/http.js"

// The dashboard's files as the server serves them (built by test/globalSetup.ts); test/browser runs the page.

describe("HTTP: the dashboard's files", () => {
  it.live("serves the page at / as HTML under a restrictive CSP, with no inline script or style", () =>
    Effect.gen(function* () {
      const page = yield* get("/")
      expect(page.status).toBe(200)
      expect(page.headers["content-type"]).toBe("text/html; charset=utf-8")
      expect(page.headers["cache-control"]).toBe("no-cache")
      expect(page.headers["x-content-type-options"]).toBe("nosniff")
      const csp = page.headers["content-security-policy"]
      expect(csp).toContain("default-src 'none'")
      expect(csp).toContain("script-src 'self'")
      expect(csp).not.toContain("unsafe-inline")
      expect(csp).toContain("frame-ancestors 'none'")
      const html: string = page.body
      expect(html).toContain('<script type="module" src="/dashboard/main.js"></script>')
      // Every script has a src, and no element carries a style or an event handler attribute.
      expect(html.match(/<script\b[^>]*>/g)?.every((tag) => tag.includes("src="))).toBe(true)
      expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i)
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("serves every built module and the stylesheet with their types, and answers 304 to a matching ETag", () =>
    Effect.gen(function* () {
      const modules = readdirSync(BUILT).filter((name) => name.endsWith(".js"))
      expect(modules).toEqual(expect.arrayContaining(["main.js", "board.js", "wire.js"]))
      for (const name of modules) {
        const reply = yield* get(`/dashboard/${name}`)
        expect(reply.status, name).toBe(200)
        expect(reply.headers["content-type"]).toBe("text/javascript; charset=utf-8")
        expect(reply.body).not.toMatch(/\bfrom "(?!\.\/)/) // only relative imports: nothing the browser cannot find
      }
      const css = yield* get("/dashboard/style.css")
      expect(css.headers["content-type"]).toBe("text/css; charset=utf-8")
      const etag = css.headers["etag"] ?? ""
      expect(etag).toMatch(/^"[\w-]+"$/)
      const again = yield* send(
        HttpClientRequest.get("/dashboard/style.css").pipe(HttpClientRequest.setHeader("if-none-match", etag))
      )
      expect(again.status).toBe(304)
      expect(again.body).toBe("")
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("counts its requests in /metrics under its own routes, not as unmatched", () =>
    Effect.gen(function* () {
      yield* get("/")
      yield* get("/dashboard/main.js")
      const metrics: string = (yield* get("/metrics")).body
      for (const route of ["/", "/dashboard/:file"]) {
        expect(metrics).toMatch(new RegExp(`storyflow_http_requests_total\\{[^}]*route="${route}"[^}]*status="200"`))
      }
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("answers 404 for a file it does not have, and 405 for another method on its paths", () =>
    Effect.gen(function* () {
      for (const path of ["/dashboard/nope.js", "/dashboard/index.html", "/dashboard/../package.json", "/dashboard/"]) {
        const reply = yield* get(path)
        expect(reply.status, path).toBe(404)
        expect(reply.body.error, path).toBe("RouteNotFound")
      }
      for (const path of ["/", "/dashboard/main.js"]) {
        const post = yield* send(HttpClientRequest.post(path))
        expect(post.status, path).toBe(405)
        expect(post.headers["allow"], path).toBe("GET, HEAD")
      }
    }).pipe(Effect.provide(serverLayer()))
  )
})
