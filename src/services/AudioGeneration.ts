import type { Effect } from "effect"
import { Context } from "effect"
import type { RegistryFull } from "../domain/Errors.js"
import type { Task } from "../domain/Task.js"

/** One segment of a story to narrate. */
export interface SegmentRequest {
  readonly segmentId: string
  readonly text: string
}

/** A validated batch: segment ids unique, voice one the engine has, speed within range. */
export interface GenerationRequest {
  readonly segments: ReadonlyArray<SegmentRequest>
  readonly voice?: string | undefined
  readonly speed?: number | undefined
}

/** Turns a batch of segments into a background task that narrates them in order. */
export class AudioGeneration extends Context.Tag("storyflow/AudioGeneration")<
  AudioGeneration,
  {
    readonly submit: (request: GenerationRequest) => Effect.Effect<Task, RegistryFull>
  }
>() {}
