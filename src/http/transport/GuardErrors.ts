import { HttpApiSchema, HttpServerResponse } from "@effect/platform"
import type { Headers } from "@effect/platform"
import { Schema } from "effect"

// The error bodies of the checks made before a request reaches a handler (./Methods.ts, ./Guards.ts,
// ../api/ContentType.ts), in the same `{ "error", "message" }` shape as every other error of the API.

export class MethodNotAllowed extends Schema.Class<MethodNotAllowed>("MethodNotAllowed")(
  { error: Schema.tag("MethodNotAllowed"), message: Schema.String },
  HttpApiSchema.annotations({ status: 405, description: "The path exists, but not with this method; see `Allow`" })
) {}

export class UnsupportedMediaType extends Schema.Class<UnsupportedMediaType>("UnsupportedMediaType")(
  { error: Schema.tag("UnsupportedMediaType"), message: Schema.String },
  HttpApiSchema.annotations({ status: 415, description: "The body must be sent as `application/json`" })
) {}

export class CrossOriginRefused extends Schema.Class<CrossOriginRefused>("CrossOriginRefused")(
  { error: Schema.tag("CrossOriginRefused"), message: Schema.String },
  HttpApiSchema.annotations({ status: 403, description: "A page of another origin may not change anything here" })
) {}

export class HostNotAllowed extends Schema.Class<HostNotAllowed>("HostNotAllowed")(
  { error: Schema.tag("HostNotAllowed"), message: Schema.String },
  HttpApiSchema.annotations({ status: 421, description: "The Host header names a host this server does not serve" })
) {}

/** One of the errors above as a response, for the checks that answer before the API's own error handling. */
export const respond = <A, I>(
  schema: Schema.Schema<A, I>,
  error: A,
  status: number,
  headers: Headers.Input = {}
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(Schema.encodeSync(schema)(error), { status, headers })
