import type { ParseResult } from "effect"
import { DateTime, Option, Predicate, Schema } from "effect"
import { SEGMENT_ID } from "../../domain/Segment.js"
import { progress, TaskStatus } from "../../domain/Task.js"
import type { Task } from "../../domain/Task.js"
import { registryDefaults } from "../../services/Settings.js"

// The JSON the API speaks (snake_case) and its one mapping onto the camelCase domain.

const SegmentId = Schema.String.pipe(
  Schema.pattern(SEGMENT_ID, {
    message: () => "must be 1 to 64 characters, each a letter, a digit, '_' or '-'"
  })
)

const SegmentText = Schema.String.pipe(
  Schema.filter((text) => {
    const characters = [...text].length // code points, so that an emoji counts as one character
    return (characters >= 1 && characters <= 5000) || `must be 1 to 5000 characters (it has ${characters})`
  })
)

const SegmentInput = Schema.Struct({
  segmentId: Schema.propertySignature(SegmentId).pipe(Schema.fromKey("segment_id")),
  text: SegmentText
})

/** What is wrong with these segment ids, if some are repeated. */
const repeatedIds = (ids: Iterable<string>): string | undefined => {
  const seen = new Set<string>()
  const repeated = new Set<string>()
  for (const id of ids) (seen.has(id) ? repeated : seen).add(id)
  return repeated.size === 0
    ? undefined
    : `segment_id must be unique within a request; repeated: ${[...repeated].join(", ")}`
}

const uniqueIds = (segments: ReadonlyArray<{ readonly segmentId: string }>) =>
  repeatedIds(segments.map((s) => s.segmentId)) ?? true

/**
 * Repeated segment ids in a submit body as sent. The schema checks them only once every segment is valid (a check of
 * the whole array runs after its items decode), so a body with a malformed segment would not be told of them too;
 * this finds them in the raw body, for the 400 to list beside the rest.
 */
export const repeatedSegmentIds = (body: unknown): ParseResult.ArrayFormatterIssue | undefined => {
  if (!Predicate.hasProperty(body, "segments") || !Array.isArray(body.segments)) return undefined
  const ids = body.segments.flatMap((segment: unknown) =>
    Predicate.hasProperty(segment, "segment_id") && typeof segment.segment_id === "string" ? [segment.segment_id] : []
  )
  const message = repeatedIds(ids)
  return message === undefined ? undefined : { _tag: "Type", path: ["segments"], message }
}

/**
 * Every limit a batch meets, in one sentence: the README says the same, and the 413 for a batch over the work limit
 * names it. The work limit is a setting; its default is what this says, so that a batch this describes is accepted
 * by a server with the defaults and nothing else running.
 */
export const BATCH_LIMITS =
  "1 to 500 segments, each text 1 to 5000 characters, and at most TASK_MAX_PENDING_WORK characters in all " +
  `(${registryDefaults.maxPendingWork.toLocaleString("en-US")} by default; more is a 413 TaskTooLarge), ` +
  "in a request body of at most 2 MiB"

/**
 * The submit body, decoding to the `NarrationPayload` that a narration task carries. `isVoice` says which
 * voices the engine has; the API description is built with one that accepts any, the handler with the engine's
 * list. Unknown fields are refused and every problem is reported, not just the first.
 */
export const submitRequest = (isVoice: (voice: string) => boolean) =>
  Schema.Struct({
    segments: Schema.Array(SegmentInput)
      .pipe(
        Schema.minItems(1, { message: () => "must hold at least 1 segment" }),
        // Described here: the OpenAPI document shows the refinements that have a JSON Schema form, and this one does.
        Schema.maxItems(500, { message: () => "must hold at most 500 segments", description: BATCH_LIMITS }),
        Schema.filter(uniqueIds)
      )
      .annotations({ description: BATCH_LIMITS }),
    voice: Schema.optionalWith(
      Schema.String.pipe(Schema.filter((v) => isVoice(v) || `unknown voice "${v}"; GET /api/voices lists them`)),
      { exact: true }
    ),
    speed: Schema.optionalWith(
      Schema.Number.pipe(Schema.between(0.5, 2, { message: () => "must be from 0.5 to 2.0" })),
      { exact: true }
    )
  }).annotations({
    identifier: "SubmitRequest",
    parseOptions: { onExcessProperty: "error", errors: "all" }
  })

const Progress = Schema.Struct({ current: Schema.Int, total: Schema.Int, percentage: Schema.Int })

const CompletedSegmentJson = Schema.Struct({
  segment_id: Schema.String,
  audio_url: Schema.String,
  duration: Schema.Number
})

const SegmentErrorJson = Schema.Struct({ segment_id: Schema.String, message: Schema.String })

/** A task's status as the API answers it. */
export const TaskStatusJson = Schema.Struct({
  task_id: Schema.String,
  status: TaskStatus,
  progress: Progress,
  completed_segments: Schema.Array(CompletedSegmentJson),
  errors: Schema.Array(SegmentErrorJson),
  error: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  started_at: Schema.NullOr(Schema.String),
  completed_at: Schema.NullOr(Schema.String),
  version: Schema.Int
}).annotations({ identifier: "TaskStatus" })
export type TaskStatusJson = typeof TaskStatusJson.Type

/** A task in a listing: its status without the per-segment results. */
export const TaskSummaryJson = TaskStatusJson.pipe(Schema.omit("completed_segments")).annotations({
  identifier: "TaskSummary"
})

export const TaskListJson = Schema.Struct({ tasks: Schema.Array(TaskSummaryJson) })

export const HealthJson = Schema.Struct({
  status: Schema.Literal("ok"),
  tasks: Schema.Struct({
    pending: Schema.Int,
    processing: Schema.Int,
    finished: Schema.Int,
    tombstones: Schema.Int
  }),
  audio: Schema.Struct({ bytes: Schema.Int, tasks: Schema.Int })
})

export const VoicesJson = Schema.Struct({ default: Schema.String, voices: Schema.Array(Schema.String) })

/** Milliseconds since the epoch as an ISO 8601 UTC string. */
export const isoTime = (millis: number): string => DateTime.formatIso(DateTime.unsafeMake(millis))

export const toTaskStatusJson = (task: Task): TaskStatusJson => {
  const started =
    task._tag === "PENDING" ? Option.none() : task._tag === "CANCELLED" ? task.startedAt : Option.some(task.startedAt)
  const outcomes = task._tag === "PENDING" ? { completedSegments: [], errors: [] } : task
  return {
    task_id: task.id,
    status: task._tag,
    progress: progress(task),
    completed_segments: outcomes.completedSegments.map((s) => ({
      segment_id: s.segmentId,
      audio_url: s.audioUrl,
      duration: s.durationSeconds
    })),
    errors: outcomes.errors.map((e) => ({ segment_id: e.segmentId, message: e.message })),
    error: task._tag === "FAILED" ? task.error : task._tag === "CANCELLED" ? task.reason : null,
    created_at: isoTime(task.createdAt),
    started_at: Option.match(started, { onNone: () => null, onSome: isoTime }),
    completed_at: task._tag === "PENDING" || task._tag === "PROCESSING" ? null : isoTime(task.completedAt),
    version: task.version
  }
}

export const toTaskSummaryJson = (task: Task): typeof TaskSummaryJson.Type => {
  const { completed_segments: _, ...summary } = toTaskStatusJson(task)
  return summary
}
