import type { Scope } from "effect"
import { Context, Effect, Layer, Schema } from "effect"
import { InvalidPayload } from "../domain/Errors.js"
import type { CompletedSegment, SegmentError } from "../domain/Task.js"
import type { TaskId } from "../domain/TaskId.js"
import type { TaskKind } from "../domain/TaskKind.js"

/**
 * What a running handler is told (its task's id, which claim of the task this is) and reports, one call per unit of
 * progress. A report against a claim that is no longer current (the task was cancelled) interrupts the handler.
 */
export interface TaskProgress {
  readonly taskId: TaskId
  /** 1 for the first claim of the task; more when a store hands a task to a new worker after a lost one. */
  readonly attempt: number
  readonly segmentDone: (segment: CompletedSegment) => Effect.Effect<void>
  readonly segmentFailed: (error: SegmentError) => Effect.Effect<void>
}

/**
 * Runs one task of a kind: its decoded payload and where to report progress. A failure or defect ends the task
 * FAILED with its message; an interruption ends it CANCELLED.
 */
export type Handler<A> = (payload: A, progress: TaskProgress) => Effect.Effect<void, unknown>

/** The service a kind's handler layer provides: its handler, taking the payload in its stored (encoded) form. */
export interface RunnableHandler {
  readonly kind: string
  readonly run: (encoded: unknown, progress: TaskProgress) => Effect.Effect<void, unknown>
}

/** The identifier of the handler of the kind named `Name`, so that a missing handler is a type error. */
export interface TaskHandler<Name extends string> {
  readonly _TaskHandler: Name
}

/** The tag under which the handler of the kind named `name` is provided. */
export const tag = <Name extends string>(name: Name): Context.Tag<TaskHandler<Name>, RunnableHandler> =>
  Context.GenericTag<TaskHandler<Name>, RunnableHandler>(`storyflow/TaskHandler/${name}`)

/**
 * A kind's handler as a layer, built by `make` (which may use services, such as a speech engine): a payload that
 * no longer decodes (a task stored by an older version) fails its task with `InvalidPayload` instead of running.
 */
export const layer = <const Name extends string, A, I, E, R>(
  kind: TaskKind<Name, A, I>,
  make: Effect.Effect<Handler<A>, E, R>
): Layer.Layer<TaskHandler<Name>, E, Exclude<R, Scope.Scope>> => {
  const decode = Schema.decodeUnknown(kind.payload)
  return Layer.scoped(
    tag(kind.name),
    Effect.map(make, (handler) => ({
      kind: kind.name,
      run: (encoded, progress) =>
        decode(encoded).pipe(
          Effect.mapError((e) => new InvalidPayload({ kind: kind.name, reason: e.message })),
          Effect.flatMap((payload) => handler(payload, progress))
        )
    }))
  )
}
