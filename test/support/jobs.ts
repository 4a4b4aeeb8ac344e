import type { Duration } from "effect"
import { Deferred, Effect } from "effect"
import { CompletedSegment, SegmentError } from "../../src/domain/Task.js"
import type { Job, JobProgress } from "../../src/services/TaskRegistry.js"

const segment = (i: number) =>
  new CompletedSegment({ segmentId: `s${i}`, audioUrl: `/audio/t/s${i}.wav`, durationSeconds: 1 })

const reportAll = (progress: JobProgress, total: number) =>
  Effect.forEach(
    Array.from({ length: total }, (_, i) => i),
    (i) => progress.segmentDone(segment(i)),
    {
      discard: true
    }
  )

/** Reports every segment done at once. */
export const instant = (total = 1): Job => ({ total, run: (progress) => reportAll(progress, total) })

/** Runs for `duration` of (test) clock time, then reports every segment done. */
export const sleeping = (duration: Duration.DurationInput, total = 1): Job => ({
  total,
  run: (progress) => Effect.zipRight(Effect.sleep(duration), reportAll(progress, total))
})

/** Waits until `gate` opens, then reports every segment done. */
export const gated = (gate: Deferred.Deferred<void>, total = 1): Job => ({
  total,
  run: (progress) => Effect.zipRight(Deferred.await(gate), reportAll(progress, total))
})

/** Runs until interrupted; `interrupted` completes when the interruption reaches it. */
export const endless = (interrupted: Deferred.Deferred<void>): Job => ({
  total: 1,
  run: () => Effect.never.pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)))
})

/** Every segment fails. */
export const allSegmentsFail = (total: number): Job => ({
  total,
  run: (progress) =>
    Effect.forEach(
      Array.from({ length: total }, (_, i) => i),
      (i) => progress.segmentFailed(new SegmentError({ segmentId: `s${i}`, message: "engine refused" })),
      { discard: true }
    )
})

/** One segment done, then the job fails as a whole. */
export const failing = (message: string): Job => ({
  total: 2,
  run: (progress) => Effect.zipRight(progress.segmentDone(segment(0)), Effect.fail(new Error(message)))
})

/** The job dies with a defect (an exception thrown from inside the effect). */
export const dying = (message: string): Job => ({
  total: 1,
  run: () =>
    Effect.sync(() => {
      throw new Error(message)
    })
})

/** The job interrupts itself. */
export const selfInterrupting: Job = { total: 1, run: () => Effect.interrupt }
