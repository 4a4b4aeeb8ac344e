import { Schema } from "effect"

/** A task's identifier: a random UUID, branded so that no other string can be passed where a task id is due. */
export const TaskId = Schema.UUID.pipe(Schema.brand("TaskId"))
export type TaskId = typeof TaskId.Type
