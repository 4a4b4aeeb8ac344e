import type { HttpApiGroup, HttpApp } from "@effect/platform"
import {
  HttpApi,
  HttpApiBuilder,
  HttpMethod,
  HttpRouter,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { Effect } from "effect"
import { routeLabeller } from "../metrics/HttpMetrics.js"
import { MethodNotAllowed, respond } from "./GuardErrors.js"

/** A route served beside the API, such as `["/docs", "GET"]`. */
export type Route = readonly [HttpRouter.PathInput, HttpMethod.HttpMethod]

/**
 * The methods each path answers: the API's endpoints, plus `extra` paths served beside it (such as `/docs`).
 * HEAD goes wherever GET does, as the router itself sends it.
 */
const allowedByPath = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>,
  extra: ReadonlyArray<Route>
) => {
  const table = new Map<HttpRouter.PathInput, Set<HttpMethod.HttpMethod>>()
  const add = (path: HttpRouter.PathInput, method: HttpMethod.HttpMethod) => {
    const methods = table.get(path) ?? new Set()
    methods.add(method)
    if (method === "GET") methods.add("HEAD")
    table.set(path, methods)
  }
  HttpApi.reflect(api, { onGroup: () => {}, onEndpoint: ({ endpoint }) => add(endpoint.path, endpoint.method) })
  for (const [path, method] of extra) add(path, method)
  return table
}

/**
 * Answers a known path asked with a method it does not take with 405, `Allow` and a JSON error, instead of the 404
 * that the router gives any method it has no route for. The answers are routes of the API's own router, one per
 * method a path does not take, so a request is matched once, by the same rules as every other route.
 */
export const layer = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>,
  extra: ReadonlyArray<Route> = []
) =>
  HttpApiBuilder.Router.use((router) =>
    Effect.forEach(
      allowedByPath(api, extra),
      ([path, allowed]) => {
        const allow = [...HttpMethod.all].filter((method) => allowed.has(method))
        const refuse = Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
          respond(
            MethodNotAllowed,
            new MethodNotAllowed({
              message: `${request.method} is not allowed on ${request.url.split("?")[0]}; use ${allow.join(", ")}`
            }),
            405,
            { allow: allow.join(", ") }
          )
        )
        return Effect.forEach(
          [...HttpMethod.all].filter((method) => !allowed.has(method)),
          (method) => router.addRoute(HttpRouter.makeRoute(method, path, refuse)),
          { discard: true }
        )
      },
      { discard: true }
    )
  )

/** The 405 for `method` on `path`, which takes the methods `allowed`. */
const notAllowed = (method: string, path: string, allowed: ReadonlySet<HttpMethod.HttpMethod>) => {
  const allow = [...HttpMethod.all].filter((m) => allowed.has(m))
  return respond(
    MethodNotAllowed,
    new MethodNotAllowed({ message: `${method} is not allowed on ${path}; use ${allow.join(", ")}` }),
    405,
    { allow: allow.join(", ") }
  )
}

/**
 * The same 405 for a method the router has no routes for at all (TRACE, CONNECT, or any other token a client may
 * send), on a known path: the router would answer it 404, as if the path did not exist. Wraps the whole app.
 */
export const otherMethods = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>,
  extra: ReadonlyArray<Route> = []
) => {
  const table: ReadonlyMap<string, ReadonlySet<HttpMethod.HttpMethod>> = allowedByPath(api, extra)
  const routeOf = routeLabeller(
    api,
    extra.map(([path]) => path)
  )
  return <E1, R1>(app: HttpApp.HttpApp<HttpServerResponse.HttpServerResponse, E1, R1>) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      if (HttpMethod.isHttpMethod(request.method)) return app
      const allowed = table.get(routeOf(request.url))
      return allowed === undefined
        ? app
        : Effect.succeed(notAllowed(request.method, request.url.split("?")[0] ?? "", allowed))
    })
}
