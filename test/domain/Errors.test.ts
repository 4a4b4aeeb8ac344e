import { describe, expect, it } from "@effect/vitest"
import {
  IdempotencyKeyReused,
  InvalidPayload,
  RegistryBusy,
  RegistryFull,
  RegistryUnavailable,
  TaskAlreadyFinished,
  TaskExpired,
  TaskNoLongerHeld,
  TaskNotFound,
  TaskTooLarge
} from "../../src/domain/Errors.js"
import { TaskId } from "../../src/domain/TaskId.js"

const taskId = TaskId.make("3f0c2a9e-1b7d-4c55-9d0e-2a6b8f1c4d3e")

// What each error says is what a client reads in the response body and an operator in the logs.
describe("the domain's errors say what happened, in words", () => {
  it("a task that is not known, expired or no longer held", () => {
    expect(new TaskNotFound({ taskId: "nope" }).message).toBe("No task with id nope is known")
    expect(new TaskExpired({ taskId, status: "FAILED", completedAt: 1, evictedAt: 2 }).message).toBe(
      `Task ${taskId} finished as FAILED and its record has expired`
    )
    expect(new TaskNoLongerHeld({ taskId, createdAt: Date.UTC(2026, 11, 6, 5, 4, 3, 21) }).message).toBe(
      `Task ${taskId} was created at 2026-12-06T05:04:03.021Z by this service, and its record is no longer held: ` +
        "it finished and was cleaned up, or the service restarted"
    )
  })

  it("a task that already finished cannot be cancelled", () => {
    expect(new TaskAlreadyFinished({ taskId, status: "CANCELLED" }).message).toBe(
      `Task ${taskId} has already finished as CANCELLED`
    )
  })

  it("a registry that is full, busy or unreachable, and a task too large for it", () => {
    expect(new RegistryFull({ maxPending: 7 }).message).toBe(
      "The registry already holds 7 unfinished task(s), its limit; retry later"
    )
    expect(new RegistryBusy({ weight: 5, pendingWeight: 90, maxPendingWeight: 100 }).message).toBe(
      "The registry already holds 90 of at most 100 units of unfinished work, and this task needs 5; retry later"
    )
    expect(new TaskTooLarge({ weight: 120, maxPendingWeight: 100 }).message).toBe(
      "This task is 120 units of work (characters, for narration), more than the 100 that unfinished tasks may " +
        "hold at once (TASK_MAX_PENDING_WORK); split it into smaller tasks"
    )
    expect(new RegistryUnavailable({ message: "Redis did not answer in 2 seconds" }).message).toBe(
      "Redis did not answer in 2 seconds"
    )
  })

  it("a payload its kind cannot encode, and an idempotency key used for another task", () => {
    expect(new InvalidPayload({ kind: "narration", reason: "segments is missing" }).message).toBe(
      "Invalid payload for a narration task: segments is missing"
    )
    expect(new IdempotencyKeyReused({ idempotencyKey: 'order "42"', taskId }).message).toBe(
      `The idempotency key "order \\"42\\"" was already used for task ${taskId}, ` +
        "with another kind or payload; use a new key for a new task"
    )
  })
})
