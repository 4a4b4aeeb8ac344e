import { HttpApiSchema } from "@effect/platform"
import { ParseResult, Schema } from "effect"
import { FinishedStatus, TaskStatus } from "../domain/Task.js"
import { UnsupportedMediaType } from "./GuardErrors.js"

// Every error body is `{ "error": <stable name>, "message": <a sentence a person can act on>, ... }`.
// These are the wire forms; handlers translate the domain's errors into them in one place (./Translate.ts).

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

export class TaskNotFound extends Schema.Class<TaskNotFound>("TaskNotFoundResponse")(
  { error: Schema.tag("TaskNotFound"), message: Schema.String, task_id: Schema.String },
  HttpApiSchema.annotations({ status: 404, description: "No task with this id was ever known" })
) {}

export class TaskExpired extends Schema.Class<TaskExpired>("TaskExpiredResponse")(
  {
    error: Schema.tag("TaskExpired"),
    message: Schema.String,
    task_id: Schema.String,
    status: FinishedStatus,
    completed_at: Schema.String,
    evicted_at: Schema.String
  },
  HttpApiSchema.annotations({ status: 410, description: "The task finished and its record has been cleaned up" })
) {}

export class TaskAlreadyFinished extends Schema.Class<TaskAlreadyFinished>("TaskAlreadyFinishedResponse")(
  { error: Schema.tag("TaskAlreadyFinished"), message: Schema.String, task_id: Schema.String, status: TaskStatus },
  HttpApiSchema.annotations({ status: 409, description: "A finished task cannot be cancelled" })
) {}

export class RegistryFull extends Schema.Class<RegistryFull>("RegistryFullResponse")(
  { error: Schema.tag("RegistryFull"), message: Schema.String },
  HttpApiSchema.annotations({
    status: 503,
    description: "Too many unfinished tasks; retry after `Retry-After` seconds"
  })
) {}

export class PayloadTooLarge extends Schema.Class<PayloadTooLarge>("PayloadTooLarge")(
  { error: Schema.tag("PayloadTooLarge"), message: Schema.String },
  HttpApiSchema.annotations({ status: 413, description: "The request body is over 2 MiB" })
) {}

export class AudioNotFound extends Schema.Class<AudioNotFound>("AudioNotFoundResponse")(
  { error: Schema.tag("AudioNotFound"), message: Schema.String },
  HttpApiSchema.annotations({ status: 404, description: "No audio file for this task and segment" })
) {}

export class RouteNotFound extends Schema.Class<RouteNotFound>("RouteNotFoundResponse")(
  { error: Schema.tag("RouteNotFound"), message: Schema.String },
  HttpApiSchema.annotations({ status: 404, description: "No such endpoint" })
) {}

export class InternalError extends Schema.Class<InternalError>("InternalError")(
  { error: Schema.tag("InternalError"), message: Schema.String },
  HttpApiSchema.annotations({ status: 500, description: "An unexpected error; it has been logged" })
) {}

const wireErrors = [
  InvalidRequest,
  TaskNotFound,
  TaskExpired,
  TaskAlreadyFinished,
  RegistryFull,
  PayloadTooLarge,
  AudioNotFound,
  RouteNotFound,
  InternalError,
  UnsupportedMediaType
] as const

export type WireError = InstanceType<(typeof wireErrors)[number]>

/** Whether `u` is already one of the wire errors above, ready to be encoded as it is. */
export const isWireError = (u: unknown): u is WireError => wireErrors.some((error) => u instanceof error)
