import { HttpServerResponse } from "@effect/platform"
import type { Headers } from "@effect/platform"
import { Schema } from "effect"
import * as WireError from "../api/WireError.js"

// The errors of the checks made before a request reaches a handler (./Methods.ts, ./Guards.ts,
// ../api/ContentType.ts), in the same wire form as every other error of the API.

/** The path exists, but not with this method; `Allow` lists those it takes. */
export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()("MethodNotAllowed", {
  message: Schema.String
}) {}

/** The body must be sent as `application/json`. */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", {
  message: Schema.String
}) {}

/** A page of another origin may not change anything here. */
export class CrossOriginRefused extends Schema.TaggedError<CrossOriginRefused>()("CrossOriginRefused", {
  message: Schema.String
}) {}

/** The Host header names a host this server does not serve. */
export class HostNotAllowed extends Schema.TaggedError<HostNotAllowed>()("HostNotAllowed", {
  message: Schema.String
}) {}

// Each class's wire encoder, made on its first use: making the schema costs some 250 µs, using it a few.
const encoders = new WeakMap<object, (error: unknown) => WireError.Body>()

/** An error as a response with `status`, for the checks that answer before the API's own error handling. */
export const respond = <A extends WireError.Tagged, I extends { readonly [field: string]: unknown }>(
  errorClass: WireError.ErrorClass<A, I>,
  error: A,
  status: number,
  headers: Headers.Input = {}
): HttpServerResponse.HttpServerResponse => {
  let encode = encoders.get(errorClass)
  if (encode === undefined) {
    encode = Schema.encodeUnknownSync(WireError.make(errorClass))
    encoders.set(errorClass, encode)
  }
  return HttpServerResponse.unsafeJson(encode(error), { status, headers })
}
