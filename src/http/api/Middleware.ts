import { HttpApi, HttpApiBuilder, HttpApp, HttpServerResponse } from "@effect/platform"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { Cause, Effect, Option, Predicate, Schema } from "effect"
import { Api } from "./Api.js"
import { InternalError, InvalidRequest, RouteNotFound } from "./HttpErrors.js"

/** Whether `u` is an error some endpoint of the API declares, ready to be encoded as it is. */
const isApiError = (() => {
  const declared: Array<Schema.Schema<unknown>> = []
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ errors }) => {
      for (const { ast } of errors.values()) if (Option.isSome(ast)) declared.push(Schema.make(ast.value))
    }
  })
  return Schema.is(Schema.Union(...declared))
})()

/**
 * Every failure leaves as one of the API's JSON errors: a bad path or query parameter as InvalidRequest (400), an
 * unknown route as RouteNotFound (404), and anything unexpected as InternalError (500), logged with its cause.
 * The server keeps serving in every case.
 */
export const ErrorBodies = HttpApiBuilder.middleware(Api, (app) =>
  Effect.catchAllCause(app, (cause): Effect.Effect<never, InvalidRequest | RouteNotFound | InternalError> => {
    // The app's type says it cannot fail; what the handlers fail with is only known at run time.
    const failure: unknown = Option.getOrUndefined(Cause.failureOption(cause))
    // The platform's own decode error is declared too, but answered in this API's shape.
    if (failure instanceof HttpApiDecodeError) return Effect.fail(InvalidRequest.fromIssues(failure.issues))
    if (Cause.isInterruptedOnly(cause) || isApiError(failure)) return Effect.failCause(cause)
    if (Predicate.isTagged(failure, "RouteNotFound")) {
      return Effect.fail(new RouteNotFound({ message: "No such endpoint; GET /docs lists them" }))
    }
    return Effect.logError("Unexpected error while handling a request", cause).pipe(
      Effect.zipRight(Effect.fail(new InternalError({ message: "An unexpected error occurred; it has been logged" })))
    )
  })
)

/** Seconds a client is asked to wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 5

const retryAfter = HttpApp.appendPreResponseHandler((_, response) =>
  Effect.succeed(
    response.status === 503
      ? HttpServerResponse.setHeader(response, "retry-after", String(RETRY_AFTER_SECONDS))
      : response
  )
)

/**
 * Adds `Retry-After` to every 503, whichever endpoint answered it. A pre-response handler, because error bodies
 * become responses after every API middleware has run, and a server middleware sees them only once sent. It is
 * registered only when the request has failed, since every 503 of the API is an error: a request that succeeds
 * pays nothing for it.
 */
export const RetryAfter = HttpApiBuilder.middleware((app) => Effect.tapErrorCause(app, () => retryAfter))
