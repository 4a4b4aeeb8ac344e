import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { readFileSync } from "node:fs"
import { TaskStatus } from "../../domain/Task.js"
import { TaskId } from "../../domain/TaskId.js"
import * as IdempotencyKey from "../../domain/IdempotencyKey.js"
import {
  AudioNotFoundJson,
  IdempotencyKeyReusedJson,
  InternalErrorJson,
  InvalidRequestJson,
  PayloadTooLargeJson,
  RegistryBusyJson,
  RegistryFullJson,
  RegistryUnavailableJson,
  RouteNotFoundJson,
  TaskAlreadyFinishedJson,
  TaskExpiredJson,
  TaskNoLongerHeldJson,
  TaskNotFoundJson,
  TaskTooLargeJson
} from "./ApiErrors.js"
import { JsonBody } from "./ContentType.js"
import { HealthJson, submitRequest, TaskListJson, TaskStatusJson, VoicesJson } from "./Wire.js"

/**
 * A task id in the path, in either case: UUIDs are case-insensitive (RFC 9562), and ids are issued and stored in lower
 * case, so an id is looked up in lower case whatever case it was sent in.
 */
const taskId = HttpApiSchema.param(
  "task_id",
  Schema.transform(
    Schema.String,
    TaskId.annotations({ description: "The task's id, a UUID", message: () => "must be a task id (a UUID)" }),
    { strict: true, decode: (id) => id.toLowerCase(), encode: (id) => id }
  ).annotations({
    // What a client may send: the JSON Schema of the id before it is put in lower case.
    jsonSchema: {
      type: "string",
      description: "The task's id, a UUID",
      format: "uuid",
      pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    }
  })
)

const ListParams = Schema.Struct({
  // A refinement rather than the literal union itself, so that a bad value is one issue with one message.
  status: Schema.optionalWith(
    Schema.String.pipe(
      Schema.filter(Schema.is(TaskStatus), { message: () => `must be one of ${TaskStatus.literals.join(", ")}` }),
      Schema.annotations({ jsonSchema: { type: "string", enum: TaskStatus.literals } })
    ),
    { exact: true }
  ),
  limit: Schema.optionalWith(
    Schema.NumberFromString.pipe(
      Schema.int(),
      Schema.between(1, 10_000),
      // `override`: also when the text is not a number at all, say what a valid value is.
      Schema.annotations({ message: () => ({ message: "must be a whole number from 1 to 10000", override: true }) })
    ),
    { exact: true }
  )
})

const SubmitHeaders = Schema.Struct({
  "idempotency-key": Schema.optionalWith(
    IdempotencyKey.schema((problem) => `the Idempotency-Key header ${problem}`).annotations({
      jsonSchema: {
        ...IdempotencyKey.JSON_SCHEMA,
        description:
          "Makes the submit safe to retry: while the task's record or tombstone is held, a submit with the same key " +
          "and body answers that task again (202, the body of the first answer), and one with another body is a 422. " +
          `${IdempotencyKey.RULE}.`
      }
    }),
    { exact: true }
  )
})

export class TasksApi extends HttpApiGroup.make("tasks")
  .add(
    HttpApiEndpoint.post("submit", "/api/tasks")
      .setPayload(submitRequest(() => true))
      .setHeaders(SubmitHeaders)
      .middleware(JsonBody)
      .addSuccess(TaskStatusJson, { status: 202 })
      .addError(PayloadTooLargeJson)
      .addError(RegistryFullJson)
      .addError(RegistryBusyJson)
      .addError(TaskTooLargeJson)
      .addError(IdempotencyKeyReusedJson)
      .annotate(OpenApi.Summary, "Submit a batch of segments to narrate; answers at once with the PENDING task")
  )
  .add(
    HttpApiEndpoint.get("status")`/api/tasks/${taskId}`
      .addSuccess(TaskStatusJson)
      .addError(TaskNotFoundJson)
      .addError(TaskExpiredJson)
      .addError(TaskNoLongerHeldJson)
      .annotate(OpenApi.Summary, "A task's status and progress; 410 once its record has been cleaned up")
  )
  .add(
    HttpApiEndpoint.get("list", "/api/tasks")
      .setUrlParams(ListParams)
      .addSuccess(TaskListJson)
      .annotate(OpenApi.Summary, "Tasks still on record, newest first")
  )
  .add(
    HttpApiEndpoint.del("cancel")`/api/tasks/${taskId}`
      .addSuccess(TaskStatusJson)
      .addError(TaskNotFoundJson)
      .addError(TaskExpiredJson)
      .addError(TaskNoLongerHeldJson)
      .addError(TaskAlreadyFinishedJson)
      .annotate(OpenApi.Summary, "Cancel a pending or running task")
  ) {}

/** The body of an event stream, for the API description; handlers answer it raw (../live/Sse.ts). */
const EventStream = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" }),
  Schema.annotations({ description: "Server-Sent Events" })
)

const LastEventId = Schema.Struct({
  "last-event-id": Schema.optionalWith(
    Schema.NumberFromString.pipe(
      Schema.int(),
      Schema.nonNegative(),
      Schema.annotations({
        message: () => ({
          message: "must be the id of an event this stream sent (a version, 0 or more)",
          override: true
        })
      })
    ),
    { exact: true }
  )
})

const TASK_EVENTS = `Server-Sent Events of one task: each snapshot as \`event: status\`, \`id:\` its version, \`data:\` the
TaskStatus JSON that GET /api/tasks/{task_id} answers; the current snapshot first, then one per change; the stream
closes after the terminal state. A \`: ping\` comment every 15 s. With \`Last-Event-ID\`, only snapshots of a greater
version are sent; 204 when the task has finished at or before that version (an EventSource stops reconnecting).
Errors (400, 404, 410) are JSON, answered before any event.`

const ALL_EVENTS = [
  "Server-Sent Events of the whole registry, for as long as the client stays:",
  "`event: status` with the TaskStatus JSON, for every change of every task;",
  '`event: evicted` with `{"task_id","status","completed_at","evicted_at","cause"}` (cause `age` or `cap`), for every',
  "record cleaned up;",
  '`event: stats` with `{"pending","processing","finished","tombstones"}`, at connect and then at most once a second',
  "while changes happen. Each status and evicted event has an `id:` from a registry-wide sequence: a reconnect with",
  "`Last-Event-ID` gets the events after it, from a history of about the last 10,000 (on Redis shared by every process,",
  "so it may resume on another); an id the history no longer holds gets `event: missed` first (read the list again),",
  "then the events as they come. A client that falls behind, or a stream whose store may have missed changes, is",
  "ended after the last event it was sent: reconnect with its id. A `: ping` comment every 15 s."
].join(" ")

export class EventsApi extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.get("task")`/api/tasks/${taskId}/events`
      .setHeaders(LastEventId)
      .addSuccess(EventStream)
      .addSuccess(HttpApiSchema.NoContent.annotations({ description: "Nothing newer will ever come" }))
      .addError(TaskNotFoundJson)
      .addError(TaskExpiredJson)
      .addError(TaskNoLongerHeldJson)
      .annotate(OpenApi.Summary, "A task's progress, live")
      .annotate(OpenApi.Description, TASK_EVENTS)
  )
  .add(
    HttpApiEndpoint.get("all", "/api/events")
      .addSuccess(EventStream)
      .annotate(OpenApi.Summary, "Every change and eviction, live, and the registry's counts")
      .annotate(OpenApi.Description, ALL_EVENTS)
  ) {}

export class AudioApi extends HttpApiGroup.make("audio").add(
  HttpApiEndpoint.get(
    "download"
  )`/audio/${HttpApiSchema.param("task_id", Schema.String)}/${HttpApiSchema.param("file", Schema.String)}`
    .addSuccess(
      Schema.Uint8ArrayFromSelf.pipe(HttpApiSchema.withEncoding({ kind: "Uint8Array", contentType: "audio/wav" }))
    )
    .addError(AudioNotFoundJson)
    .annotate(OpenApi.Summary, "A segment's audio: GET /audio/{task_id}/{segment_id}.wav")
) {}

export class SystemApi extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/api/health").addSuccess(HealthJson))
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(
        Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/plain; version=0.0.4" }))
      )
      .annotate(OpenApi.Summary, "Metrics in the Prometheus text format")
      .annotate(
        OpenApi.Description,
        "Tasks submitted, finished by status, evicted by cause; records and tombstones held; the oldest finished " +
          "record's age; task and segment durations; HTTP requests by method, route and status; open event streams."
      )
  )
  .add(HttpApiEndpoint.get("voices", "/api/voices").addSuccess(VoicesJson)) {}

/** The whole HTTP API; errors every endpoint can answer are declared once here. */
/**
 * The version the OpenAPI document states: the package's own, read from its package.json (beside `src/` and `dist/`
 * alike, and in an installed package), so that the two cannot disagree.
 */
const packageVersion: string = Schema.decodeUnknownSync(Schema.parseJson(Schema.Struct({ version: Schema.String })))(
  readFileSync(new URL("../../../package.json", import.meta.url), "utf8")
).version

export class Api extends HttpApi.make("storyflow-tasks")
  .add(TasksApi)
  .add(EventsApi)
  .add(AudioApi)
  .add(SystemApi)
  .addError(InvalidRequestJson)
  .addError(RegistryUnavailableJson)
  .addError(RouteNotFoundJson)
  .addError(InternalErrorJson)
  .annotate(OpenApi.Title, "StoryFlow Tasks")
  .annotate(OpenApi.Version, packageVersion)
  .annotate(OpenApi.Description, "Background narration tasks: submit a batch of segments, poll, download audio.") {}
