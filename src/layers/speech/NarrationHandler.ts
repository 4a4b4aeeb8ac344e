import { Duration, Effect, Metric } from "effect"
import type { NarrationPayload } from "../../domain/Narration.js"
import { Narration } from "../../domain/Narration.js"
import { CompletedSegment, SegmentError } from "../../domain/Task.js"
import type { TaskId } from "../../domain/TaskId.js"
import { AudioStore } from "../../services/AudioStore.js"
import { segmentDuration } from "../../services/Metrics.js"
import { Synthesizer } from "../../services/Synthesizer.js"
import * as TaskHandler from "../../services/TaskHandler.js"

/** Where the HTTP API serves a segment's audio. */
export const audioUrl = (taskId: TaskId, segmentId: string) => `/audio/${taskId}/${segmentId}.wav`

/**
 * Narrates a batch's segments in order, writing each one's WAV file. A segment that fails is reported and the batch
 * goes on; the registry decides the task's final status from what was reported.
 */
export const make = Effect.gen(function* () {
  const synthesizer = yield* Synthesizer
  const store = yield* AudioStore
  return (payload: NarrationPayload, progress: TaskHandler.TaskProgress) => {
    const voice = payload.voice ?? synthesizer.defaultVoice
    const speed = payload.speed ?? 1
    return Effect.forEach(
      payload.segments,
      ({ segmentId, text }) =>
        synthesizer.synthesize(text, voice, speed).pipe(
          Effect.flatMap((speech) => store.write(progress.taskId, segmentId, speech)),
          Effect.timed,
          Effect.tap(([took]) => Metric.update(segmentDuration, Duration.toSeconds(took))),
          Effect.map(([, durationSeconds]) => durationSeconds),
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
  }
})

/** The narration handler, for the workers of a process that narrates. */
export const layer = TaskHandler.layer(Narration, make)
