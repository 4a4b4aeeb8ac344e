import type { HttpApiGroup, HttpApp } from "@effect/platform"
import { HttpApi, HttpServerError, HttpServerRequest } from "@effect/platform"
import { Cause, Effect, Exit, Metric, MetricLabel, Stream } from "effect"
import { httpRequests } from "../../services/Metrics.js"

/**
 * Event streams open now, by stream (`task`: one task's; `all`: GET /api/events). Not incremental, so that it can
 * go down: exported as a gauge.
 */
export const eventStreamsOpen = Metric.counter("storyflow_event_streams_open", {
  description: "Server-Sent Event streams open now"
})

/** `stream`, counted in `eventStreamsOpen` from its start until it ends, fails or is interrupted. */
export const countingOpen = <A, E, R>(stream: Stream.Stream<A, E, R>, name: "task" | "all") => {
  const open = Metric.tagged(eventStreamsOpen, "stream", name)
  return Stream.unwrapScoped(
    Effect.acquireRelease(Metric.increment(open), () => Metric.incrementBy(open, -1)).pipe(Effect.as(stream))
  )
}

/** Counts one stream in `eventStreamsOpen` for as long as the scope is open. */
export const openFor = (name: "task" | "all") => {
  const open = Metric.tagged(eventStreamsOpen, "stream", name)
  return Effect.acquireRelease(Metric.increment(open), () => Metric.incrementBy(open, -1))
}

/** A request's route as a label: the API's path pattern it matched (`/api/tasks/:task_id`), or `unmatched`. */
export const routeLabeller = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, E, R>(
  api: HttpApi.HttpApi<Id, Groups, E, R>,
  extra: ReadonlyArray<string>
) => {
  const patterns: Array<readonly [RegExp, string]> = []
  const add = (path: string) => {
    if (patterns.some(([, known]) => known === path)) return
    const source = path
      .split("/")
      .map((part) => (part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/")
    patterns.push([new RegExp(`^${source}$`), path])
  }
  HttpApi.reflect(api, { onGroup: () => {}, onEndpoint: ({ endpoint }) => add(endpoint.path) })
  extra.forEach(add)
  // Fixed routes before patterns, so that `/api/tasks` is not read as a task id.
  patterns.sort(([, a], [, b]) => Number(a.includes(":")) - Number(b.includes(":")))
  return (url: string): string => {
    const query = url.indexOf("?")
    const path = query === -1 ? url : url.slice(0, query)
    return patterns.find(([pattern]) => pattern.test(path))?.[1] ?? "unmatched"
  }
}

/** Counts one request in `httpRequests`, outside of an effect (for the poll fast path, ../transport/Polling.ts). */
export const unsafeCountRequest = (method: string, route: string, status: number) =>
  httpRequests.unsafeUpdate(1, [
    MetricLabel.make("method", method),
    MetricLabel.make("route", route),
    MetricLabel.make("status", String(status))
  ])

/**
 * A server middleware that counts every request by method, route and status, including those that failed (their
 * status is the error response's) and those whose client went away (499, as nginx logs them).
 */
export const countRequests =
  (routeOf: (url: string) => string) =>
  <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R | HttpServerRequest.HttpServerRequest> =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.onExit(app, (exit) =>
        Effect.sync(() => {
          const status = Exit.isSuccess(exit)
            ? exit.value.status
            : Cause.isInterruptedOnly(exit.cause)
              ? 499
              : HttpServerError.causeResponseStripped(exit.cause)[0].status
          unsafeCountRequest(request.method, routeOf(request.url), status)
        })
      )
    )
