import { HttpApiBuilder, HttpMiddleware, HttpServerRequest } from "@effect/platform"
import type { HttpApp } from "@effect/platform"
import { Effect } from "effect"
import { isIP } from "node:net"
import type { GuardOptions } from "../../services/Settings.js"
import * as Settings from "../../services/Settings.js"
import { CrossOriginRefused, HostNotAllowed, respond } from "./GuardErrors.js"

export type { GuardOptions } from "../../services/Settings.js"

/** The API's methods, for preflights: what a page of a listed origin may send. */
const CORS_METHODS = ["GET", "HEAD", "POST", "DELETE"]
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"])

/** The host name a `Host` header names, normalized as a browser would (lower case, no port), if it is one. */
const hostName = (host: string) =>
  URL.canParse(`http://${host}`) ? new URL(`http://${host}`).hostname.replace(/\.$/, "") : undefined

/** Whether a page of `origin` is one of this server's own, reached as `host`. */
const sameOrigin = (origin: string, host: string) => {
  if (!URL.canParse(origin)) return false // `null`, from sandboxed frames and local files
  const { protocol, host: originHost } = new URL(origin)
  return URL.canParse(`${protocol}//${host}`) && new URL(`${protocol}//${host}`).host === originHost
}

/**
 * Checks made on every request before it is routed:
 *
 * - **Host.** A page on `evil.example` whose DNS then points at 127.0.0.1 (DNS rebinding) reaches this server as
 *   its own origin, past every CORS rule; what gives it away is its `Host`. Allowed: IP addresses (a page cannot
 *   rebind an address), `localhost` and `*.localhost`, the listening host, and `ALLOWED_HOSTS`; anything else is a
 *   421. A request without `Host` (HTTP/1.0) is not a browser's, and passes.
 * - **Cross-origin writes.** A request that would change something (not GET, HEAD or OPTIONS) and carries the
 *   `Origin` of a page neither of this server nor in `CORS_ORIGINS` is a 403, whatever its body. (Browsers send
 *   `Origin` with every such request; `application/json` bodies, see ../api/ContentType.ts, already need a preflight.)
 * - **CORS.** Pages of `CORS_ORIGINS` get their preflights answered and may read responses, via the platform's
 *   `HttpMiddleware.cors`. Other OPTIONS requests go on to the router (405 with `Allow`), because that middleware
 *   would answer every OPTIONS as a preflight.
 */
/** Whether a `Host` name (without its port) is one this server answers for (see above). */
export const hostCheck = (options: Pick<GuardOptions, "allowedHosts" | "listenHost">) => {
  const anyHost = options.allowedHosts.includes("*")
  const hosts = new Set([...options.allowedHosts, options.listenHost].map((h) => h.toLowerCase()))
  return (name: string) =>
    anyHost ||
    isIP(name.replace(/^\[(.*)\]$/, "$1")) !== 0 ||
    name === "localhost" ||
    name.endsWith(".localhost") ||
    hosts.has(name)
}

/**
 * Whether a request may skip these checks: it carries no `Origin` (so no CORS headers are due and no page sent it
 * cross-origin) and its `Host` is one this server answers for. The poll answered ahead of the platform
 * (./Polling.ts) is only answered so when this holds; any other goes through the checks.
 */
export const passes = (options: GuardOptions) => {
  const hostAllowed = hostCheck(options)
  return (headers: { readonly host?: string | undefined; readonly origin?: string | undefined }): boolean => {
    if (headers.origin !== undefined) return false
    if (headers.host === undefined) return true
    const name = hostName(headers.host)
    return name !== undefined && hostAllowed(name)
  }
}

export const make = (options: GuardOptions) => {
  const origins = new Set(options.corsOrigins)
  const hostAllowed = hostCheck(options)
  const cors = HttpMiddleware.cors({
    allowedOrigins: (origin) => origins.has(origin),
    allowedMethods: CORS_METHODS,
    allowedHeaders: ["content-type"],
    exposedHeaders: ["retry-after"],
    maxAge: 600
  })

  return (app: HttpApp.Default): HttpApp.Default => {
    const withCors = origins.size === 0 ? app : cors(app)
    return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const host = request.headers["host"]
      const name = host === undefined ? undefined : hostName(host)
      if (host !== undefined && (name === undefined || !hostAllowed(name))) {
        const message = `This server does not answer for host "${host}"; list its name in ALLOWED_HOSTS to allow it`
        return Effect.succeed(respond(HostNotAllowed, new HostNotAllowed({ message }), 421))
      }
      const origin = request.headers["origin"]
      if (
        origin !== undefined &&
        !SAFE_METHODS.has(request.method) &&
        !origins.has(origin) &&
        !(host !== undefined && sameOrigin(origin, host))
      ) {
        const message = `A page of ${origin} may not send ${request.method} requests here; list it in CORS_ORIGINS`
        return Effect.succeed(respond(CrossOriginRefused, new CrossOriginRefused({ message }), 403))
      }
      // Only a preflight from a listed origin is the CORS middleware's to answer; it would answer any OPTIONS.
      const listedPreflight =
        origin !== undefined && origins.has(origin) && request.headers["access-control-request-method"] !== undefined
      return request.method === "OPTIONS" && !listedPreflight ? app : withCors
    })
  }
}

/** The checks, configured in code. */
export const layer = (options: GuardOptions) => HttpApiBuilder.middleware(make(options))

/** The checks, configured from the `ConfigProvider` (`CORS_ORIGINS`, `ALLOWED_HOSTS`, and the listener's `HOST`). */
export const layerConfig = HttpApiBuilder.middleware(Effect.map(Settings.guards, make))
