import { HttpApiMiddleware, HttpServerRequest } from "@effect/platform"
import { Effect, Layer } from "effect"
import { UnsupportedMediaType } from "../transport/GuardErrors.js"
import * as WireError from "./WireError.js"

/** The one media type the API reads bodies in. */
export const JSON_TYPE = "application/json"

/**
 * Endpoints that take a body take it as `application/json` only. Beyond saying what the API speaks, this keeps
 * web pages of other origins out: a browser sends `text/plain`, form and multipart bodies across origins without
 * asking first, but a JSON body only after a CORS preflight, which this server grants to `CORS_ORIGINS` alone.
 */
export class JsonBody extends HttpApiMiddleware.Tag<JsonBody>()("storyflow/JsonBody", {
  failure: WireError.make(UnsupportedMediaType, {
    status: 415,
    description: "The body must be sent as `application/json`"
  })
}) {}

/** The media type of a `Content-Type` header, without its parameters (such as `charset`). */
const mediaType = (header: string | undefined) => header?.split(";")[0]?.trim().toLowerCase()

export const layer = Layer.succeed(
  JsonBody,
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const type = mediaType(request.headers["content-type"])
    if (type === JSON_TYPE) return Effect.void
    return Effect.fail(
      new UnsupportedMediaType({
        message: `Send the body as ${JSON_TYPE} (Content-Type: ${JSON_TYPE}); got ${type || "no Content-Type"}`
      })
    )
  })
)
