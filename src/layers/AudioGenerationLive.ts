import { Effect, Layer } from "effect"
import { CompletedSegment, SegmentError } from "../domain/Task.js"
import type { TaskId } from "../domain/TaskId.js"
import type { GenerationRequest } from "../services/AudioGeneration.js"
import { AudioGeneration } from "../services/AudioGeneration.js"
import { AudioStore } from "../services/AudioStore.js"
import { Synthesizer } from "../services/Synthesizer.js"
import { TaskRegistry } from "../services/TaskRegistry.js"

/** Where the HTTP API serves a segment's audio. */
export const audioUrl = (taskId: TaskId, segmentId: string) => `/audio/${taskId}/${segmentId}.wav`

/**
 * Each request becomes a registry job that narrates its segments in order. A segment that fails is recorded and
 * the batch goes on; the registry decides the task's final status from what was reported.
 */
export const make = Effect.gen(function* () {
  const registry = yield* TaskRegistry
  const synthesizer = yield* Synthesizer
  const store = yield* AudioStore

  const submit = (request: GenerationRequest) => {
    const voice = request.voice ?? synthesizer.defaultVoice
    const speed = request.speed ?? 1
    return registry.submit({
      total: request.segments.length,
      run: (progress) =>
        Effect.forEach(
          request.segments,
          ({ segmentId, text }) =>
            synthesizer.synthesize(text, voice, speed).pipe(
              Effect.flatMap((speech) => store.write(progress.taskId, segmentId, speech)),
              Effect.matchEffect({
                onFailure: (error) => progress.segmentFailed(new SegmentError({ segmentId, message: error.message })),
                onSuccess: (durationSeconds) =>
                  progress.segmentDone(
                    new CompletedSegment({ segmentId, audioUrl: audioUrl(progress.taskId, segmentId), durationSeconds })
                  )
              })
            ),
          { discard: true }
        )
    })
  }

  return AudioGeneration.of({ submit })
})

export const layer: Layer.Layer<AudioGeneration, never, TaskRegistry | Synthesizer | AudioStore> = Layer.effect(
  AudioGeneration,
  make
)
