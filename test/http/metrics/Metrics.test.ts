import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { batch, get, pollUntil, postJson, serverLayer } from "../../support/http.js"

/** The value of the sample `name{labels…}` in Prometheus text (labels matched as given, in any order), else 0. */
const sample = (text: string, name: string, labels: Record<string, string> = {}): number => {
  for (const line of text.split("\n")) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null || match[1] !== name) continue
    const present = new Map([...(match[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]))
    if (Object.entries(labels).every(([k, v]) => present.get(k) === v)) return Number(match[3])
  }
  return 0
}

const scrape = Effect.map(get("/metrics"), (reply) => {
  expect(reply.status).toBe(200)
  expect(reply.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8")
  const text: string = reply.body
  return text
})

describe("GET /metrics", () => {
  it.live("counts submitted, finished by status, evicted by cause, durations, held records and requests", () =>
    Effect.gen(function* () {
      // Effect's metrics are process-wide, and other tests in this file's worker may have counted: compare deltas.
      const before = yield* scrape
      const completed = yield* postJson("/api/tasks", batch(2))
      yield* pollUntil(completed.body.task_id, "COMPLETED")
      const failed = yield* postJson("/api/tasks", { segments: [{ segment_id: "x", text: "[fail]" }] })
      // Over TASK_MAX_RETAINED=1: the completed record goes when this one finishes.
      yield* pollUntil(failed.body.task_id, "FAILED")
      const gone = yield* get(`/api/tasks/${completed.body.task_id}`)
      expect(gone.status).toBe(410)
      yield* get("/api/tasks/not-a-uuid")
      const after = yield* scrape

      const delta = (name: string, labels: Record<string, string> = {}) =>
        sample(after, name, labels) - sample(before, name, labels)
      expect(delta("storyflow_tasks_submitted_total")).toBe(2)
      expect(delta("storyflow_tasks_finished_total", { status: "COMPLETED" })).toBe(1)
      expect(delta("storyflow_tasks_finished_total", { status: "FAILED" })).toBe(1)
      expect(delta("storyflow_tasks_evicted_total", { cause: "cap" })).toBe(1)
      expect(delta("storyflow_tasks_evicted_total", { cause: "age" })).toBe(0)
      expect(delta("storyflow_task_duration_seconds_count")).toBe(2)
      // Segments timed: the two that were spoken and stored.
      expect(delta("storyflow_segment_duration_seconds_count")).toBe(2)
      expect(sample(after, "storyflow_task_records", { state: "finished" })).toBe(1)
      expect(sample(after, "storyflow_task_records", { state: "pending" })).toBe(0)
      expect(sample(after, "storyflow_task_tombstones")).toBe(1)
      expect(sample(after, "storyflow_oldest_finished_record_age_seconds")).toBeGreaterThanOrEqual(0)
      expect(after).toMatch(/^# TYPE storyflow_oldest_finished_record_age_seconds gauge$/m)
      expect(delta("storyflow_http_requests_total", { method: "POST", route: "/api/tasks", status: "202" })).toBe(2)
      expect(
        delta("storyflow_http_requests_total", { method: "GET", route: "/api/tasks/:task_id", status: "410" })
      ).toBe(1)
      expect(
        delta("storyflow_http_requests_total", { method: "GET", route: "/api/tasks/:task_id", status: "400" })
      ).toBe(1)
      // Polls answered by the fast path (../../../src/http/transport/Polling.ts) are counted too.
      expect(
        delta("storyflow_http_requests_total", { method: "GET", route: "/api/tasks/:task_id", status: "200" })
      ).toBeGreaterThanOrEqual(2)
      expect(delta("storyflow_http_requests_total", { method: "GET", route: "/metrics", status: "200" })).toBe(1)
    }).pipe(Effect.provide(serverLayer({ TASK_MAX_RETAINED: "1" })))
  )

  it.effect("reports the oldest finished record's age in seconds of the clock, and unknown paths as one route", () =>
    Effect.gen(function* () {
      const task = yield* postJson("/api/tasks", batch(1))
      yield* pollUntil(task.body.task_id, "COMPLETED")
      yield* TestClock.adjust("90 seconds")
      const text = yield* scrape
      expect(sample(text, "storyflow_oldest_finished_record_age_seconds")).toBe(90)
      const before = sample(text, "storyflow_http_requests_total", { route: "unmatched", status: "404" })
      yield* get("/no/such/path/12345")
      const after = sample(yield* scrape, "storyflow_http_requests_total", { route: "unmatched", status: "404" })
      expect(after - before).toBe(1)
    }).pipe(Effect.provide(serverLayer()))
  )
})
