import type { Effect, Option } from "effect"
import { Context } from "effect"
import type { TaskId } from "../domain/TaskId.js"

/**
 * Issues task ids and recognises them later. An id carries its creation time and a keyed signature, so that a
 * store which holds neither the record nor its tombstone can still tell "issued here, no longer held" from "never
 * issued", at no memory cost per task. Stores that share tasks must share the key.
 */
export class TaskIds extends Context.Tag("storyflow/TaskIds")<
  TaskIds,
  {
    /**
     * A new, unguessable id for a task created at `createdAt` (epoch milliseconds). The caller passes the time it
     * read once for the whole submit, so that the id's time is the record's `createdAt`.
     */
    readonly make: (createdAt: number) => Effect.Effect<TaskId>
    /** When the task was created, if `id` is one this service issued (its signature verifies under the key). */
    readonly issuedAt: (id: string) => Option.Option<number>
  }
>() {}
