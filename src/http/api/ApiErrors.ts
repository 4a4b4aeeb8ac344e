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
import { FinishedStatus, TaskStatus } from "../../domain/Task.js"
import { TaskId } from "../../domain/TaskId.js"
import { AudioNotFound } from "../../services/AudioStore.js"
import { UnsupportedMediaType } from "../transport/GuardErrors.js"
import { isoTime } from "./Wire.js"

// Every error body is `{ "error": <stable name>, "message": <a sentence a person can act on>, ... }`. Errors of the
// registry and the audio store are defined once, where they arise; here each gets its wire form (snake_case) as a
// schema that encodes the very same value, so handlers fail with the domain's errors as they are. Errors that only
// HTTP has (a bad body, an unknown route) are defined here.

const TimeIso = Schema.transform(Schema.String, Schema.Number, {
  strict: true,
  decode: (iso) => DateTime.toEpochMillis(DateTime.unsafeMake(iso)),
  encode: isoTime
})

/** The wire form of an error defined elsewhere: a `body` schema (with `error` and `message`) mapped to and fro. */
const wire = <A extends { readonly message: string }, I, B extends { readonly error: string }, BI>(
  error: Schema.Schema<A, I>,
  body: Schema.Schema<B, BI>,
  options: {
    readonly status: number
    readonly description: string
    readonly encode: (error: A) => NoInfer<B>
    readonly decode: (body: NoInfer<B>) => A
  }
) =>
  Schema.transform(body, Schema.typeSchema(error), {
    strict: true,
    decode: options.decode,
    encode: options.encode
  }).annotations(HttpApiSchema.annotations({ status: options.status, description: options.description }))

const body = <const Tag extends string, const F extends Schema.Struct.Fields>(tag: Tag, fields: F) =>
  Schema.Struct({ error: Schema.Literal(tag), message: Schema.String, ...fields }).annotations({
    identifier: `${tag}Response`
  })

export const TaskNotFoundJson = wire(TaskNotFound, body("TaskNotFound", { task_id: Schema.String }), {
  status: 404,
  description: "No task with this id is known, and the id is not one this service issued",
  encode: (e) => ({ error: "TaskNotFound" as const, message: e.message, task_id: e.taskId }),
  decode: (b) => new TaskNotFound({ taskId: b.task_id })
})

// One description for both 410s: an endpoint's response for a status is documented by its first error's description.
const GONE =
  "The task existed, and its record has been cleaned up. `TaskExpired` carries its tombstone (how it ended); once " +
  "that is gone too, or after a restart, `TaskNoLongerHeld` says when it was created (the id carries it, signed)"

export const TaskExpiredJson = wire(
  TaskExpired,
  body("TaskExpired", { task_id: TaskId, status: FinishedStatus, completed_at: TimeIso, evicted_at: TimeIso }),
  {
    status: 410,
    description: GONE,
    encode: (e) => ({
      error: "TaskExpired" as const,
      message: e.message,
      task_id: e.taskId,
      status: e.status,
      completed_at: e.completedAt,
      evicted_at: e.evictedAt
    }),
    decode: (b) =>
      new TaskExpired({ taskId: b.task_id, status: b.status, completedAt: b.completed_at, evictedAt: b.evicted_at })
  }
)

export const TaskNoLongerHeldJson = wire(
  TaskNoLongerHeld,
  body("TaskNoLongerHeld", { task_id: TaskId, created_at: TimeIso }),
  {
    status: 410,
    description: GONE,
    encode: (e) => ({
      error: "TaskNoLongerHeld" as const,
      message: e.message,
      task_id: e.taskId,
      created_at: e.createdAt
    }),
    decode: (b) => new TaskNoLongerHeld({ taskId: b.task_id, createdAt: b.created_at })
  }
)

export const TaskAlreadyFinishedJson = wire(
  TaskAlreadyFinished,
  body("TaskAlreadyFinished", { task_id: TaskId, status: TaskStatus }),
  {
    status: 409,
    description: "A finished task cannot be cancelled",
    encode: (e) => ({ error: "TaskAlreadyFinished" as const, message: e.message, task_id: e.taskId, status: e.status }),
    decode: (b) => new TaskAlreadyFinished({ taskId: b.task_id, status: b.status })
  }
)

export const RegistryFullJson = wire(RegistryFull, body("RegistryFull", { max_pending: Schema.NonNegativeInt }), {
  status: 503,
  description: "Too many unfinished tasks; retry after `Retry-After` seconds",
  encode: (e) => ({ error: "RegistryFull" as const, message: e.message, max_pending: e.maxPending }),
  decode: (b) => new RegistryFull({ maxPending: b.max_pending })
})

export const RegistryBusyJson = wire(
  RegistryBusy,
  body("RegistryBusy", {
    weight: Schema.NonNegativeInt,
    pending_weight: Schema.NonNegativeInt,
    max_pending_weight: Schema.NonNegativeInt
  }),
  {
    status: 503,
    description: "Unfinished tasks hold as much work as allowed (TASK_MAX_PENDING_WORK); retry after `Retry-After`",
    encode: (e) => ({
      error: "RegistryBusy" as const,
      message: e.message,
      weight: e.weight,
      pending_weight: e.pendingWeight,
      max_pending_weight: e.maxPendingWeight
    }),
    decode: (b) =>
      new RegistryBusy({ weight: b.weight, pendingWeight: b.pending_weight, maxPendingWeight: b.max_pending_weight })
  }
)

export const TaskTooLargeJson = wire(
  TaskTooLarge,
  body("TaskTooLarge", { weight: Schema.NonNegativeInt, max_pending_weight: Schema.NonNegativeInt }),
  {
    status: 413,
    description: "The batch alone is more work (characters) than the server holds at once; split it",
    encode: (e) => ({
      error: "TaskTooLarge" as const,
      message: e.message,
      weight: e.weight,
      max_pending_weight: e.maxPendingWeight
    }),
    decode: (b) => new TaskTooLarge({ weight: b.weight, maxPendingWeight: b.max_pending_weight })
  }
)

export const RegistryUnavailableJson = wire(RegistryUnavailable, body("RegistryUnavailable", {}), {
  status: 503,
  description: "The task store cannot be reached; retry after `Retry-After` seconds",
  encode: (e) => ({ error: "RegistryUnavailable" as const, message: e.message }),
  decode: (b) => new RegistryUnavailable({ message: b.message })
})

export const AudioNotFoundJson = wire(
  AudioNotFound,
  body("AudioNotFound", { task_id: Schema.String, segment_id: Schema.String }),
  {
    status: 404,
    description: "No audio file for this task and segment",
    encode: (e) => ({
      error: "AudioNotFound" as const,
      message: e.message,
      task_id: e.taskId,
      segment_id: e.segmentId
    }),
    decode: (b) => new AudioNotFound({ taskId: b.task_id, segmentId: b.segment_id })
  }
)

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

/** Whether `u` is an error the API declares, ready to be encoded as it is. */
export const isApiError = Schema.is(
  Schema.Union(
    InvalidRequest,
    PayloadTooLarge,
    RouteNotFound,
    InternalError,
    UnsupportedMediaType,
    TaskNotFoundJson,
    TaskExpiredJson,
    TaskNoLongerHeldJson,
    TaskAlreadyFinishedJson,
    RegistryFullJson,
    RegistryBusyJson,
    TaskTooLargeJson,
    RegistryUnavailableJson,
    AudioNotFoundJson
  )
)
