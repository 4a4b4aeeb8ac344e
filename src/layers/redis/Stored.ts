import { Either, Option, Schema } from "effect"
import { Tombstone } from "../../domain/RegistryState.js"
import * as Task from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"

// How records travel from Redis. The scripts write every record themselves, from arguments this store checked, so
// what they answer is read back without a Schema round trip: parsed once, and built as the domain's classes without
// re-validation (as the domain's own transitions do).

const trusted = { disableValidation: true } as const

/** A record as JSON text, as the scripts keep it. */
interface Json {
  readonly _tag: Task.TaskStatus
  readonly id: TaskId
  readonly kind: string
  readonly total: number
  readonly createdAt: number
  readonly version: number
  readonly payload?: unknown
  readonly attempts: number
  readonly weight: number
  readonly claim: string
  readonly startedAt?: number
  readonly completedSegments: ReadonlyArray<Task.CompletedSegment>
  readonly errors: ReadonlyArray<Task.SegmentError>
  readonly completedAt: number
  readonly error: string
  readonly reason: string
}

const segments = (xs: ReadonlyArray<Task.CompletedSegment>) => xs.map((s) => new Task.CompletedSegment(s, trusted))
const segmentErrors = (xs: ReadonlyArray<Task.SegmentError>) => xs.map((e) => new Task.SegmentError(e, trusted))

const common = (r: Pick<Json, "id" | "kind" | "total" | "createdAt" | "version">) => ({
  id: r.id,
  kind: r.kind,
  total: r.total,
  createdAt: r.createdAt,
  version: r.version
})

/** The record a script's JSON text says; one that is not a record is a defect of the store. */
export const fromJson = (text: unknown): Task.Task => {
  const r = (typeof text === "string" ? JSON.parse(text) : undefined) as Json | undefined
  switch (r?._tag) {
    case "PENDING":
      return new Task.Pending({ ...common(r), payload: r.payload, attempts: r.attempts, weight: r.weight }, trusted)
    case "PROCESSING":
      return new Task.Processing(
        {
          ...common(r),
          payload: r.payload,
          attempts: r.attempts,
          weight: r.weight,
          claim: r.claim,
          startedAt: r.startedAt ?? 0,
          completedSegments: segments(r.completedSegments),
          errors: segmentErrors(r.errors)
        },
        trusted
      )
    case "COMPLETED":
      return new Task.Completed(
        {
          ...common(r),
          startedAt: r.startedAt ?? 0,
          completedSegments: segments(r.completedSegments),
          errors: segmentErrors(r.errors),
          completedAt: r.completedAt
        },
        trusted
      )
    case "FAILED":
      return new Task.Failed(
        {
          ...common(r),
          startedAt: r.startedAt ?? 0,
          completedSegments: segments(r.completedSegments),
          errors: segmentErrors(r.errors),
          completedAt: r.completedAt,
          error: r.error
        },
        trusted
      )
    case "CANCELLED":
      return new Task.Cancelled(
        {
          ...common(r),
          startedAt: Option.fromNullable(r.startedAt),
          completedSegments: segments(r.completedSegments),
          errors: segmentErrors(r.errors),
          completedAt: r.completedAt,
          reason: r.reason
        },
        trusted
      )
    default:
      throw new Error(`A task record in Redis is not a record: ${String(text).slice(0, 200)}`)
  }
}

/**
 * A record moved on by one change notice's delta (see prelude.lua), or undefined when `base` is not the state the
 * delta applies to (a notice was missed: the record must be read again). Records heard of this way carry no
 * payload: notices never carry one.
 */
export const applyDelta = (base: Task.Task, type: string, version: number, delta: string): Task.Task | undefined => {
  if (base.version !== version - 1) return undefined
  switch (type) {
    case "C": {
      if (base._tag !== "PENDING") return undefined
      const d = JSON.parse(delta) as { claim: string; startedAt: number; attempts: number }
      return new Task.Processing(
        {
          ...common(base),
          version,
          payload: undefined,
          attempts: d.attempts,
          weight: base.weight,
          claim: d.claim,
          startedAt: d.startedAt,
          completedSegments: [],
          errors: []
        },
        trusted
      )
    }
    case "D":
    case "X": {
      if (base._tag !== "PROCESSING") return undefined
      const item = JSON.parse(delta)
      return new Task.Processing(
        {
          ...base,
          version,
          ...(type === "D"
            ? { completedSegments: [...base.completedSegments, new Task.CompletedSegment(item, trusted)] }
            : { errors: [...base.errors, new Task.SegmentError(item, trusted)] })
        },
        trusted
      )
    }
    case "W": {
      if (base._tag !== "PROCESSING") return undefined
      const d = JSON.parse(delta) as { attempts: number }
      return new Task.Pending(
        { ...common(base), version, payload: undefined, attempts: d.attempts, weight: base.weight },
        trusted
      )
    }
    default:
      return undefined
  }
}

const StoredTombstone = Schema.parseJson(Schema.Struct(Tombstone.fields).pipe(Schema.omit("id")))
const decodeTombstone = Schema.decodeUnknownEither(StoredTombstone)

/** A tombstone from the JSON text the scripts keep of it. */
export const tombstoneFromJson = (id: string, text: unknown): Tombstone =>
  new Tombstone({
    id: Schema.decodeSync(Tombstone.fields.id)(id),
    ...Either.getOrThrowWith(
      decodeTombstone(text),
      (e) => new Error(`A tombstone in Redis does not decode: ${e.message}`)
    )
  })

const EvictionMessage = Schema.parseJson(Schema.Struct({ ...Tombstone.fields, cause: Schema.Literal("age", "cap") }))

/** An eviction as the scripts publish it. */
export const decodeEviction = Schema.decodeUnknownEither(EvictionMessage)

const encode = Schema.encodeSync(Task.Task)

/** A finished record as the scripts keep it, its status first (for tools that fill a registry directly). */
export const toJson = (task: Task.FinishedTask): string => {
  const { _tag, ...fields } = encode(task)
  return JSON.stringify({ _tag, ...fields })
}
