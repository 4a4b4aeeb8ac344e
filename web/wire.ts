// The API's JSON as the dashboard reads it (see ../src/http/api/Wire.ts; test/dashboard/wire.test.ts keeps the two the
// same), with checks for what arrives over the network, so that nothing unchecked reaches the page.

export const STATUSES = ["PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"] as const
export type Status = (typeof STATUSES)[number]

export interface Progress {
  readonly current: number
  readonly total: number
  readonly percentage: number
}

export interface CompletedSegment {
  readonly segment_id: string
  readonly audio_url: string
  readonly duration: number
}

export interface SegmentError {
  readonly segment_id: string
  readonly message: string
}

/** A task as `GET /api/tasks` lists it: its status without the per-segment results. */
export interface TaskSummary {
  readonly task_id: string
  readonly status: Status
  readonly progress: Progress
  readonly errors: ReadonlyArray<SegmentError>
  readonly error: string | null
  readonly created_at: string
  readonly started_at: string | null
  readonly completed_at: string | null
  readonly version: number
}

/** A task as `GET /api/tasks/{id}` and the `status` event carry it. */
export interface TaskStatus extends TaskSummary {
  readonly completed_segments: ReadonlyArray<CompletedSegment>
}

/** The `evicted` event: the tombstone of a record the registry let go, and why. */
export interface Evicted {
  readonly task_id: string
  readonly status: Status
  readonly completed_at: string
  readonly evicted_at: string
  readonly cause: "age" | "cap"
}

/** The `stats` event, and `tasks` of `GET /api/health`. */
export interface Stats {
  readonly pending: number
  readonly processing: number
  readonly finished: number
  readonly tombstones: number
}

export interface Voices {
  readonly default: string
  readonly voices: ReadonlyArray<string>
}

type Fields = { readonly [key: string]: unknown }

const isObject = (u: unknown): u is Fields => typeof u === "object" && u !== null && !Array.isArray(u)
const isString = (u: unknown): u is string => typeof u === "string"
const isNumber = (u: unknown): u is number => typeof u === "number" && Number.isFinite(u)
const isNullableString = (u: unknown): u is string | null => u === null || isString(u)
const isArrayOf =
  <A>(item: (u: unknown) => u is A) =>
  (u: unknown): u is ReadonlyArray<A> =>
    Array.isArray(u) && u.every(item)

export const isStatus = (u: unknown): u is Status => STATUSES.some((status) => status === u)

const isProgress = (u: unknown): u is Progress =>
  isObject(u) && isNumber(u["current"]) && isNumber(u["total"]) && isNumber(u["percentage"])

const isSegmentError = (u: unknown): u is SegmentError =>
  isObject(u) && isString(u["segment_id"]) && isString(u["message"])

const isCompletedSegment = (u: unknown): u is CompletedSegment =>
  isObject(u) && isString(u["segment_id"]) && isString(u["audio_url"]) && isNumber(u["duration"])

export const isTaskSummary = (u: unknown): u is TaskSummary =>
  isObject(u) &&
  isString(u["task_id"]) &&
  isStatus(u["status"]) &&
  isProgress(u["progress"]) &&
  isArrayOf(isSegmentError)(u["errors"]) &&
  isNullableString(u["error"]) &&
  isString(u["created_at"]) &&
  isNullableString(u["started_at"]) &&
  isNullableString(u["completed_at"]) &&
  isNumber(u["version"])

export const isTaskStatus = (u: unknown): u is TaskStatus =>
  isTaskSummary(u) && "completed_segments" in u && isArrayOf(isCompletedSegment)(u["completed_segments"])

export const isTaskList = (u: unknown): u is { readonly tasks: ReadonlyArray<TaskSummary> } =>
  isObject(u) && isArrayOf(isTaskSummary)(u["tasks"])

export const isEvicted = (u: unknown): u is Evicted =>
  isObject(u) &&
  isString(u["task_id"]) &&
  isStatus(u["status"]) &&
  isString(u["completed_at"]) &&
  isString(u["evicted_at"]) &&
  (u["cause"] === "age" || u["cause"] === "cap")

export const isStats = (u: unknown): u is Stats =>
  isObject(u) &&
  isNumber(u["pending"]) &&
  isNumber(u["processing"]) &&
  isNumber(u["finished"]) &&
  isNumber(u["tombstones"])

export const isHealth = (u: unknown): u is { readonly tasks: Stats } => isObject(u) && isStats(u["tasks"])

export const isVoices = (u: unknown): u is Voices =>
  isObject(u) && isString(u["default"]) && isArrayOf(isString)(u["voices"])

/** The `message` of one of the API's JSON errors, if `u` is one. */
export const errorMessage = (u: unknown): string | undefined =>
  isObject(u) && isString(u["message"]) ? u["message"] : undefined

/** Parses JSON text, answering undefined for text that is not JSON. */
export const parseJson = (text: string): unknown => {
  try {
    const value: unknown = JSON.parse(text)
    return value
  } catch {
    return undefined
  }
}
