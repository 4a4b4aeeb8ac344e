import { HttpApiSchema } from "@effect/platform"
import { DateTime, ParseResult, Schema } from "effect"
import {
  RegistryBusy,
  RegistryFull,
  RegistryUnavailable,
  TaskAlreadyFinished,
  TaskExpired,
  TaskNoLongerHeld,
  TaskNotFound,
  TaskTooLarge
} from "../../domain/Errors.js"
import { AudioNotFound } from "../../services/AudioStore.js"
import { isoTime } from "./Wire.js"
import * as WireError from "./WireError.js"

// Every error body is `{ "error": <stable name>, "message": <a sentence a person can act on>, ... }`. Errors of the
// registry and the audio store are defined once, where they arise; here each gets its status and description, and its
// wire form (snake_case) from ./WireError.ts, which encodes the very same value, so handlers fail with the domain's
// errors as they are. Errors that only HTTP has (a bad body, an unknown route) are defined here.

/** Times are epoch millis in the domain and ISO 8601 text on the wire. */
const TimeIso = Schema.transform(Schema.String, Schema.Number, {
  strict: true,
  decode: (iso) => DateTime.toEpochMillis(DateTime.unsafeMake(iso)),
  encode: isoTime
})

export const TaskNotFoundJson = WireError.make(TaskNotFound, {
  status: 404,
  description: "No task with this id is known, and the id is not one this service issued"
})

// One description for both 410s: an endpoint's response for a status is documented by its first error's description.
const GONE =
  "The task existed, and its record has been cleaned up. `TaskExpired` carries its tombstone (how it ended); once " +
  "that is gone too, or after a restart, `TaskNoLongerHeld` says when it was created (the id carries it, signed)"

export const TaskExpiredJson = WireError.make(TaskExpired, {
  status: 410,
  description: GONE,
  fields: { completedAt: TimeIso, evictedAt: TimeIso }
})

export const TaskNoLongerHeldJson = WireError.make(TaskNoLongerHeld, {
  status: 410,
  description: GONE,
  fields: { createdAt: TimeIso }
})

export const TaskAlreadyFinishedJson = WireError.make(TaskAlreadyFinished, {
  status: 409,
  description: "A finished task cannot be cancelled"
})

export const RegistryFullJson = WireError.make(RegistryFull, {
  status: 503,
  description: "Too many unfinished tasks; retry after `Retry-After` seconds"
})

export const RegistryBusyJson = WireError.make(RegistryBusy, {
  status: 503,
  description: "Unfinished tasks hold as much work as allowed (TASK_MAX_PENDING_WORK); retry after `Retry-After`"
})

export const TaskTooLargeJson = WireError.make(TaskTooLarge, {
  status: 413,
  description: "The batch alone is more work (characters) than the server holds at once; split it"
})

export const RegistryUnavailableJson = WireError.make(RegistryUnavailable, {
  status: 503,
  description: "The task store cannot be reached; retry after `Retry-After` seconds"
})

export const AudioNotFoundJson = WireError.make(AudioNotFound, {
  status: 404,
  description: "No audio file for this task and segment"
})

export const Issue = Schema.Struct({ field: Schema.String, message: Schema.String })

export class InvalidRequest extends Schema.Class<InvalidRequest>("InvalidRequest")(
  { error: Schema.tag("InvalidRequest"), message: Schema.String, issues: Schema.Array(Issue) },
  HttpApiSchema.annotations({ status: 400, description: "The request is invalid; `issues` names each bad field" })
) {
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

export class PayloadTooLarge extends Schema.Class<PayloadTooLarge>("PayloadTooLarge")(
  { error: Schema.tag("PayloadTooLarge"), message: Schema.String },
  HttpApiSchema.annotations({ status: 413, description: "The request body is over 2 MiB" })
) {}

export class RouteNotFound extends Schema.Class<RouteNotFound>("RouteNotFoundResponse")(
  { error: Schema.tag("RouteNotFound"), message: Schema.String },
  HttpApiSchema.annotations({ status: 404, description: "No such endpoint" })
) {}

export class InternalError extends Schema.Class<InternalError>("InternalError")(
  { error: Schema.tag("InternalError"), message: Schema.String },
  HttpApiSchema.annotations({ status: 500, description: "An unexpected error; it has been logged" })
) {}
