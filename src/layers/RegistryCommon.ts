import { Effect, Option } from "effect"
import { TaskExpired, TaskNoLongerHeld, TaskNotFound } from "../domain/Errors.js"
import type { Tombstone } from "../domain/RegistryState.js"
import type { TaskId } from "../domain/TaskId.js"
import type { TaskIds } from "../services/TaskIds.js"

// What every store answers and logs the same way.

/** Logs an eviction at Info, with its count as an annotation; nothing when nothing was evicted. */
export const logEvicted = (count: number) =>
  count === 0
    ? Effect.void
    : Effect.logInfo(`Cleaned up ${count} finished task(s)`).pipe(Effect.annotateLogs("evicted", count))

/** What a request for a task that is not held answers. */
export type NotHeld = TaskExpired | TaskNoLongerHeld | TaskNotFound

/** Why `id` is not held: its tombstone while there is one, else what its signature says, else not found. */
export const notHeld = (ids: TaskIds["Type"], tombstone: Option.Option<Tombstone>, id: TaskId): NotHeld =>
  Option.match(tombstone, {
    onNone: (): NotHeld =>
      Option.match(ids.issuedAt(id), {
        onNone: () => new TaskNotFound({ taskId: id }),
        onSome: (createdAt) => new TaskNoLongerHeld({ taskId: id, createdAt })
      }),
    onSome: (t) =>
      new TaskExpired({ taskId: t.id, status: t.status, completedAt: t.completedAt, evictedAt: t.evictedAt })
  })
