import { DateTime, Schema } from "effect"
import { EpochMillis, FinishedStatus, TaskStatus } from "./Task.js"
import { TaskId } from "./TaskId.js"

/**
 * No task with this id is known: no record, no tombstone, and not signed under this service's key (never issued
 * here, or issued under a key that is gone, such as an ephemeral one before a restart).
 */
export class TaskNotFound extends Schema.TaggedError<TaskNotFound>()("TaskNotFound", {
  taskId: Schema.String
}) {
  override get message() {
    return `No task with id ${this.taskId} is known`
  }
}

/** The task finished and its record was removed after the retention period; the tombstone says how it ended. */
export class TaskExpired extends Schema.TaggedError<TaskExpired>()("TaskExpired", {
  taskId: TaskId,
  status: FinishedStatus,
  completedAt: EpochMillis,
  evictedAt: EpochMillis
}) {
  override get message() {
    return `Task ${this.taskId} finished as ${this.status} and its record has expired`
  }
}

/**
 * The id is one this service issued (its signature verifies), but neither its record nor its tombstone is held any
 * more: all that can honestly be said is when it was created. Tombstones, while held, are the richer answer.
 */
export class TaskNoLongerHeld extends Schema.TaggedError<TaskNoLongerHeld>()("TaskNoLongerHeld", {
  taskId: TaskId,
  createdAt: EpochMillis
}) {
  override get message() {
    const created = DateTime.formatIso(DateTime.unsafeMake(this.createdAt))
    return (
      `Task ${this.taskId} was created at ${created} by this service, and its record is no longer held: ` +
      "it finished and was cleaned up, or the service restarted"
    )
  }
}

/** A finished task cannot be cancelled. */
export class TaskAlreadyFinished extends Schema.TaggedError<TaskAlreadyFinished>()("TaskAlreadyFinished", {
  taskId: TaskId,
  status: TaskStatus
}) {
  override get message() {
    return `Task ${this.taskId} has already finished as ${this.status}`
  }
}

/** As many tasks as allowed are already pending or processing; retry once some have finished. */
export class RegistryFull extends Schema.TaggedError<RegistryFull>()("RegistryFull", {
  maxPending: Schema.NonNegativeInt
}) {
  override get message() {
    return `The registry already holds ${this.maxPending} unfinished task(s), its limit; retry later`
  }
}

/** The tasks pending or processing already hold as much work as allowed; retry once some have finished. */
export class RegistryBusy extends Schema.TaggedError<RegistryBusy>()("RegistryBusy", {
  weight: Schema.NonNegativeInt,
  pendingWeight: Schema.NonNegativeInt,
  maxPendingWeight: Schema.NonNegativeInt
}) {
  override get message() {
    return (
      `The registry already holds ${this.pendingWeight} of at most ${this.maxPendingWeight} units of unfinished ` +
      `work, and this task needs ${this.weight}; retry later`
    )
  }
}

/** A task that needs more work than the registry ever holds at once: it can never be accepted as it is. */
export class TaskTooLarge extends Schema.TaggedError<TaskTooLarge>()("TaskTooLarge", {
  weight: Schema.NonNegativeInt,
  maxPendingWeight: Schema.NonNegativeInt
}) {
  override get message() {
    return (
      `This task is ${this.weight} units of work (characters, for narration), more than the ` +
      `${this.maxPendingWeight} that unfinished tasks may hold at once (TASK_MAX_PENDING_WORK); ` +
      `split it into smaller tasks`
    )
  }
}

/**
 * The task store could not be reached, or did not answer in time. A read changed nothing; a write may or may not
 * have been made (its answer was lost): retry it — a submit with the same idempotency key, so that it is not made
 * twice; a cancel answers `TaskAlreadyFinished` if the first one was made.
 */
export class RegistryUnavailable extends Schema.TaggedError<RegistryUnavailable>()("RegistryUnavailable", {
  message: Schema.String
}) {}

/** A payload that its kind's schema cannot encode; the task was not submitted. */
export class InvalidPayload extends Schema.TaggedError<InvalidPayload>()("InvalidPayload", {
  kind: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Invalid payload for a ${this.kind} task: ${this.reason}`
  }
}

/**
 * A submit carried an idempotency key that an earlier submit, of another kind or payload, already used while that
 * task's record or tombstone is held: the key names that task, and this submit was not accepted.
 */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  idempotencyKey: Schema.String,
  taskId: TaskId
}) {
  override get message() {
    return (
      `The idempotency key ${JSON.stringify(this.idempotencyKey)} was already used for task ${this.taskId}, ` +
      "with another kind or payload; use a new key for a new task"
    )
  }
}
