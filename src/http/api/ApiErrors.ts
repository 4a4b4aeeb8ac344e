import { DateTime, Schema } from "effect"
import {
  IdempotencyKeyReused,
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
import { InternalError, InvalidRequest, PayloadTooLarge, RouteNotFound } from "./HttpErrors.js"
import { isoTime } from "./Wire.js"
import * as WireError from "./WireError.js"

// The status and description of each error ./Api.ts declares; the domain's errors know nothing of HTTP. Handlers
// fail with the errors as they are, and these schemas send them in their wire form (./WireError.ts).

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

export const IdempotencyKeyReusedJson = WireError.make(IdempotencyKeyReused, {
  status: 422,
  description:
    "This `Idempotency-Key` was already used, with another body, for the task `task_id` (while that task's record " +
    "or tombstone is held); nothing was stored. Use a new key for a new task"
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
  description:
    "The batch's texts hold more characters in all than TASK_MAX_PENDING_WORK allows (250,000 by default); split it"
})

export const RegistryUnavailableJson = WireError.make(RegistryUnavailable, {
  status: 503,
  description: "The task store cannot be reached; retry after `Retry-After` seconds"
})

export const AudioNotFoundJson = WireError.make(AudioNotFound, {
  status: 404,
  description: "No audio file for this task and segment"
})

export const InvalidRequestJson = WireError.make(InvalidRequest, {
  status: 400,
  description: "The request is invalid; `issues` names each bad field"
})

export const PayloadTooLargeJson = WireError.make(PayloadTooLarge, {
  status: 413,
  description: "The request body is over 2 MiB"
})

export const RouteNotFoundJson = WireError.make(RouteNotFound, { status: 404, description: "No such endpoint" })

export const InternalErrorJson = WireError.make(InternalError, {
  status: 500,
  description: "An unexpected error; it has been logged"
})
