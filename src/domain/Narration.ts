import { Schema } from "effect"
import { SEGMENT_ID } from "./Segment.js"
import * as TaskKind from "./TaskKind.js"

/** One segment of a story to narrate. */
export const NarrationSegment = Schema.Struct({
  segmentId: Schema.String.pipe(Schema.pattern(SEGMENT_ID)),
  text: Schema.String
})
export type NarrationSegment = typeof NarrationSegment.Type

/** A batch of segments to narrate, in order, with the engine's voice and speed (its defaults when absent). */
export const NarrationPayload = Schema.Struct({
  segments: Schema.Array(NarrationSegment),
  voice: Schema.optionalWith(Schema.String, { exact: true }),
  speed: Schema.optionalWith(Schema.Number, { exact: true })
})
export type NarrationPayload = typeof NarrationPayload.Type

/** Narration: one kind of task, whose units of progress are its segments. */
export const Narration = TaskKind.make({
  name: "narration",
  payload: NarrationPayload,
  total: (payload) => payload.segments.length,
  // What synthesis time and audio size grow with: the text, not the number of segments.
  weight: (payload) => payload.segments.reduce((sum, segment) => sum + [...segment.text].length, 0)
})
