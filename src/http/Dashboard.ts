import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { RouteNotFound } from "./api/HttpErrors.js"
import { respond } from "./transport/GuardErrors.js"
import type { Route } from "./transport/Methods.js"

// The dashboard (GET /): the page, its stylesheet and its ES modules, which `npm run build` compiles from web/ into
// dist/dashboard (scripts/build-assets.mjs). They are read once, when the server starts, and served from memory.

/**
 * Where the built dashboard is: dist/dashboard of this package. This module sits two folders deep both as source
 * (src/http) and built (dist/http), so the same relative path finds it from either.
 */
export const BUILT = new URL("../../dist/dashboard/", import.meta.url)

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8"
}

/**
 * The page may load only its own scripts, styles, audio and API; no inline script or style, no other origin, no
 * framing. Task text reaches the page as text nodes only; this is the second line of defence.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'"
].join("; ")

/** The routes the dashboard answers, for ./transport/Methods.ts. */
export const routes: ReadonlyArray<Route> = [
  ["/", "GET"],
  ["/dashboard/:file", "GET"]
]

interface Asset {
  readonly body: Uint8Array
  readonly etag: string
  readonly headers: Readonly<Record<string, string>>
}

const asset = (name: string, body: Uint8Array): Asset => {
  const extension = name.slice(name.lastIndexOf("."))
  const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`
  return {
    body,
    etag,
    headers: {
      "content-type": TYPES[extension] ?? "application/octet-stream",
      // Module names carry no hash, so a browser revalidates each load (a 304 when nothing changed).
      "cache-control": "no-cache",
      etag,
      "x-content-type-options": "nosniff",
      ...(extension === ".html"
        ? { "content-security-policy": CONTENT_SECURITY_POLICY, "referrer-policy": "no-referrer" }
        : {})
    }
  }
}

/** The built files by name, or none when the dashboard has not been built. */
const load = (dir: URL): ReadonlyMap<string, Asset> => {
  try {
    const names = readdirSync(dir).filter((name) => TYPES[name.slice(name.lastIndexOf("."))] !== undefined)
    return new Map(names.map((name) => [name, asset(name, readFileSync(new URL(name, dir)))]))
  } catch {
    return new Map()
  }
}

const serve = (found: Asset | undefined) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
    if (found === undefined) {
      const message = "No such file of the dashboard; the dashboard is GET /, built by npm run build"
      return respond(RouteNotFound, new RouteNotFound({ message }), 404)
    }
    const fresh = request.headers["if-none-match"] === found.etag
    return fresh
      ? HttpServerResponse.empty({ status: 304, headers: found.headers })
      : HttpServerResponse.uint8Array(found.body, { headers: found.headers })
  })

/** Serves the dashboard built in `dir`: `/` is its page, `/dashboard/{file}` the rest. */
export const layer = (dir: URL = BUILT) =>
  HttpApiBuilder.Router.use((router) =>
    Effect.gen(function* () {
      const assets = load(dir)
      if (!assets.has("index.html")) {
        yield* Effect.logWarning(`No dashboard in ${dir.pathname}; run npm run build to serve it at GET /`)
      }
      yield* router.get("/", serve(assets.get("index.html")))
      yield* router.get(
        "/dashboard/:file",
        Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
          const name = new URL(request.url, "http://localhost").pathname.slice("/dashboard/".length)
          return serve(name === "index.html" ? undefined : assets.get(name))
        })
      )
    })
  )
