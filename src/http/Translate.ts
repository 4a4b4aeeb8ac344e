import type * as Domain from "../domain/Errors.js"
import * as Wire from "./ApiErrors.js"
import { isoTime } from "./Wire.js"

/** The one place where the registry's errors become the API's error bodies. */
export function toWireError(error: Domain.RegistryFull): Wire.RegistryFull
export function toWireError(error: Domain.TaskNotFound | Domain.TaskExpired): Wire.TaskNotFound | Wire.TaskExpired
export function toWireError(
  error: Domain.TaskNotFound | Domain.TaskExpired | Domain.TaskAlreadyFinished
): Wire.TaskNotFound | Wire.TaskExpired | Wire.TaskAlreadyFinished
export function toWireError(
  error: Domain.TaskNotFound | Domain.TaskExpired | Domain.TaskAlreadyFinished | Domain.RegistryFull
): Wire.TaskNotFound | Wire.TaskExpired | Wire.TaskAlreadyFinished | Wire.RegistryFull {
  switch (error._tag) {
    case "TaskNotFound":
      return new Wire.TaskNotFound({ message: error.message, task_id: error.taskId })
    case "TaskExpired":
      return new Wire.TaskExpired({
        message: `${error.message}; its audio files remain available`,
        task_id: error.taskId,
        status: error.status,
        completed_at: isoTime(error.completedAt),
        evicted_at: isoTime(error.evictedAt)
      })
    case "TaskAlreadyFinished":
      return new Wire.TaskAlreadyFinished({ message: error.message, task_id: error.taskId, status: error.status })
    case "RegistryFull":
      return new Wire.RegistryFull({ message: error.message })
  }
}
