import { Effect, Metric, MetricBoundaries, Option } from "effect"
import * as Task from "../domain/Task.js"
import type { RegistryEvent } from "./TaskRegistry.js"

// The service's metrics, as Effect `Metric`s (process-wide, like every Effect metric); GET /metrics exports them in
// the Prometheus text format (../http/metrics/Prometheus.ts), where a counter's name gains `_total`.

/** Tasks accepted. */
export const tasksSubmitted = Metric.counter("storyflow_tasks_submitted", {
  incremental: true,
  description: "Tasks accepted"
})

/** Tasks that reached a terminal state, by `status`. */
export const tasksFinished = Metric.counter("storyflow_tasks_finished", {
  incremental: true,
  description: "Tasks that reached a terminal state, by status"
})

/** Finished records cleaned up, by `cause`: `age` (past the threshold) or `cap` (over TASK_MAX_RETAINED). */
export const tasksEvicted = Metric.counter("storyflow_tasks_evicted", {
  incremental: true,
  description: "Finished records evicted, by cause: age or cap"
})

/** Records the registry holds now, by `state`: pending, processing, finished. Set when scraped. */
export const recordsHeld = Metric.gauge("storyflow_task_records", { description: "Task records held, by state" })

/** Tombstones of evicted records held now. Set when scraped. */
export const tombstonesHeld = Metric.gauge("storyflow_task_tombstones", { description: "Tombstones held" })

/** Seconds since the oldest finished record still held finished (0 when none is). Set when scraped. */
export const oldestFinishedAge = Metric.gauge("storyflow_oldest_finished_record_age_seconds", {
  description: "Age of the oldest finished record held, in seconds since it finished"
})

/** Seconds from a task's start to its end, for tasks that started. */
export const taskDuration = Metric.histogram(
  "storyflow_task_duration_seconds",
  MetricBoundaries.exponential({ start: 0.05, factor: 2, count: 16 }),
  "Seconds from a task's start to its terminal state"
)

/** Seconds one narration segment took: synthesis and writing its WAV file. */
export const segmentDuration = Metric.histogram(
  "storyflow_segment_duration_seconds",
  MetricBoundaries.exponential({ start: 0.005, factor: 2, count: 14 }),
  "Seconds one segment took to synthesize and store"
)

/** HTTP requests answered, by `method`, `route` (the API's path pattern) and `status`. */
export const httpRequests = Metric.counter("storyflow_http_requests", {
  incremental: true,
  description: "HTTP requests answered, by method, route and status"
})

/**
 * Counts one registry event made by this process. Every store publishes the same events, so counting them here works
 * for any store; on a store shared by several processes, each counts what it did itself (as Prometheus expects of
 * counters: the total is the sum over instances), although it hears of every process's changes.
 */
export const countEvent = (event: RegistryEvent): Effect.Effect<void> => {
  if (event._tag === "Missed" || !event.here) return Effect.void
  if (event._tag === "Evicted") return Metric.increment(Metric.tagged(tasksEvicted, "cause", event.cause))
  const task = event.task
  // Version 1 is the record as submitted; a task handed back to PENDING has a later version.
  if (task._tag === "PENDING") return task.version === 1 ? Metric.increment(tasksSubmitted) : Effect.void
  if (!Task.isFinished(task)) return Effect.void
  const started = task._tag === "CANCELLED" ? task.startedAt : Option.some(task.startedAt)
  return Effect.zipRight(
    Metric.increment(Metric.tagged(tasksFinished, "status", task._tag)),
    Option.match(started, {
      onNone: () => Effect.void,
      onSome: (startedAt) => Metric.update(taskDuration, (task.completedAt - startedAt) / 1000)
    })
  )
}
