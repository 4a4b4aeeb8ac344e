import { ParseResult, Schema } from "effect"

// Errors that only HTTP has: a bad request, a body too large, an unknown route, an unexpected failure. Like the
// domain's, each is a tagged error; ./ApiErrors.ts gives it its status and wire form where the API declares it.

const Issue = Schema.Struct({ field: Schema.String, message: Schema.String })

/** The request is invalid; `issues` names each bad field. */
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String,
  issues: Schema.Array(Issue)
}) {
  /** Names every field a parse error found fault with, as a dotted path of the JSON the client sent. */
  static fromParseError(error: ParseResult.ParseError): InvalidRequest {
    return InvalidRequest.fromIssues(ParseResult.ArrayFormatter.formatErrorSync(error))
  }

  static fromIssues(issues: ReadonlyArray<ParseResult.ArrayFormatterIssue>): InvalidRequest {
    // A union reports one issue per member; the same sentence about the same field is said once.
    const named = [
      ...new Map(
        issues.map((issue) => {
          const field = fieldName(issue.path)
          return [`${field}\u0000${issue.message}`, { field, message: issue.message }] as const
        })
      ).values()
    ]
    const fields = [...new Set(named.map((i) => i.field))].join(", ")
    return new InvalidRequest({
      message: `Invalid ${fields}: ${named.map((i) => i.message).join("; ")}`,
      issues: named
    })
  }

  /** A problem with the request as a whole, such as a body that is not JSON. */
  static body(message: string): InvalidRequest {
    return new InvalidRequest({ message, issues: [{ field: "body", message }] })
  }
}

/** `["segments", 0, "segment_id"]` → `segments[0].segment_id`; the empty path is the body itself. */
const fieldName = (path: ReadonlyArray<PropertyKey>) =>
  path.reduce<string>(
    (name, key) => (typeof key === "number" ? `${name}[${key}]` : name === "" ? String(key) : `${name}.${String(key)}`),
    ""
  ) || "body"

/** The request body is over the limit. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  message: Schema.String
}) {}

/** No endpoint answers this path. Its schema is named `RouteNotFoundResponse` in the API description, as before. */
export class RouteNotFound extends Schema.TaggedError<RouteNotFound>("RouteNotFoundResponse")("RouteNotFound", {
  message: Schema.String
}) {}

/** An unexpected failure; its cause is logged, not sent. */
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", {
  message: Schema.String
}) {}
