import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { batch, del, get, getBytes, pollUntil, postJson, serverLayer } from "../../support/http.js"

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

describe("HTTP: submit and status", () => {
  it.live("accepts a batch with 202 and a PENDING status, then runs it to COMPLETED", () =>
    Effect.gen(function* () {
      const submitted = yield* postJson("/api/tasks", { ...batch(2), voice: "en-gb", speed: 1.5 })
      expect(submitted.status).toBe(202)
      expect(submitted.body).toMatchObject({
        status: "PENDING",
        progress: { current: 0, total: 2, percentage: 0 },
        completed_segments: [],
        errors: [],
        error: null,
        started_at: null,
        completed_at: null
      })
      expect(submitted.body.task_id).toMatch(/^[0-9a-f-]{36}$/)
      expect(submitted.body.created_at).toMatch(ISO)
      const done = yield* pollUntil(submitted.body.task_id, "COMPLETED")
      expect(done.status).toBe(200)
      expect(done.body.progress).toEqual({ current: 2, total: 2, percentage: 100 })
      expect(done.body.completed_segments).toEqual([
        { segment_id: "s1", audio_url: `/audio/${submitted.body.task_id}/s1.wav`, duration: expect.any(Number) },
        { segment_id: "s2", audio_url: `/audio/${submitted.body.task_id}/s2.wav`, duration: expect.any(Number) }
      ])
      expect(done.body.started_at).toMatch(ISO)
      expect(done.body.completed_at).toMatch(ISO)
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("records a failed segment and goes on; all segments failing ends FAILED", () =>
    Effect.gen(function* () {
      const mixed = yield* postJson("/api/tasks", {
        segments: [
          { segment_id: "a", text: "fine" },
          { segment_id: "b", text: "[fail] this one" },
          { segment_id: "c", text: "fine too" }
        ]
      })
      const done = yield* pollUntil(mixed.body.task_id, "COMPLETED")
      expect(done.body.completed_segments.map((s: { segment_id: string }) => s.segment_id)).toEqual(["a", "c"])
      expect(done.body.errors).toEqual([{ segment_id: "b", message: "Could not speak: [fail] this one" }])
      expect(done.body.progress).toEqual({ current: 3, total: 3, percentage: 100 })

      const allBad = yield* postJson("/api/tasks", { segments: [{ segment_id: "x", text: "[fail]" }] })
      const failed = yield* pollUntil(allBad.body.task_id, "FAILED")
      expect(failed.body.error).toBe("All 1 segment(s) failed")
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("answers 404 for an id never known and 400 for one that is not a UUID", () =>
    Effect.gen(function* () {
      const unknown = yield* get("/api/tasks/00000000-0000-4000-8000-000000000000")
      expect(unknown.status).toBe(404)
      expect(unknown.body).toMatchObject({ error: "TaskNotFound", task_id: "00000000-0000-4000-8000-000000000000" })
      expect(unknown.body.message).toMatch(/No task/)
      const bad = yield* get("/api/tasks/not-a-uuid")
      expect(bad.status).toBe(400)
      expect(bad.body).toMatchObject({
        error: "InvalidRequest",
        issues: [{ field: "task_id", message: "must be a task id (a UUID)" }]
      })
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("lists tasks newest first, filtered by status and limited", () =>
    Effect.gen(function* () {
      const first = yield* postJson("/api/tasks", batch(1))
      yield* pollUntil(first.body.task_id, "COMPLETED")
      const second = yield* postJson("/api/tasks", { segments: [{ segment_id: "x", text: "[fail]" }] })
      yield* pollUntil(second.body.task_id, "FAILED")
      const all = yield* get("/api/tasks")
      expect(all.status).toBe(200)
      expect(all.body.tasks.map((t: { task_id: string }) => t.task_id)).toEqual([
        second.body.task_id,
        first.body.task_id
      ])
      expect(all.body.tasks[0]).not.toHaveProperty("completed_segments")
      expect(all.body.tasks[0]).toHaveProperty("progress")
      const failed = yield* get("/api/tasks?status=FAILED")
      expect(failed.body.tasks.map((t: { task_id: string }) => t.task_id)).toEqual([second.body.task_id])
      const limited = yield* get("/api/tasks?limit=1")
      expect(limited.body.tasks).toHaveLength(1)
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("answers 400 naming the parameter for a bad status or limit", () =>
    Effect.gen(function* () {
      const status = yield* get("/api/tasks?status=DONE")
      expect(status.status).toBe(400)
      expect(status.body.issues).toEqual([
        { field: "status", message: "must be one of PENDING, PROCESSING, COMPLETED, FAILED, CANCELLED" }
      ])
      for (const limit of ["0", "abc", "1.5", "10001"]) {
        const reply = yield* get(`/api/tasks?limit=${limit}`)
        expect(reply.status).toBe(400)
        expect(reply.body.issues).toEqual([{ field: "limit", message: "must be a whole number from 1 to 10000" }])
      }
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("reports health with the registry's counts, and serves /docs and /openapi.json", () =>
    Effect.gen(function* () {
      const task = yield* postJson("/api/tasks", batch(1))
      yield* pollUntil(task.body.task_id, "COMPLETED")
      const health = yield* get("/api/health")
      expect(health).toMatchObject({
        status: 200,
        body: { status: "ok", tasks: { pending: 0, processing: 0, finished: 1, tombstones: 0 } }
      })
      const openapi = yield* get("/openapi.json")
      expect(Object.keys(openapi.body.paths)).toEqual(
        expect.arrayContaining(["/api/tasks", "/api/tasks/{task_id}", "/api/health", "/audio/{task_id}/{file}"])
      )
      const docs = yield* get("/docs")
      expect(docs.status).toBe(200)
      expect(docs.body).toContain("swagger-ui")
    }).pipe(Effect.provide(serverLayer()))
  )
})

describe("HTTP: task ids in upper case", () => {
  it.live("answers an id sent in upper case as the task it names (UUIDs are case-insensitive)", () =>
    Effect.gen(function* () {
      const submitted = yield* postJson("/api/tasks", batch(1))
      const id: string = submitted.body.task_id
      yield* pollUntil(id, "COMPLETED")
      const upper = id.toUpperCase()
      const status = yield* get(`/api/tasks/${upper}`)
      expect(status.status).toBe(200)
      expect(status.body.task_id).toBe(id)
      expect((yield* getBytes(`/audio/${upper}/s1.wav`)).status).toBe(200)
      const cancel = yield* del(`/api/tasks/${upper}`)
      expect(cancel.status).toBe(409)
      expect((yield* get(`/api/tasks/${upper}/events`)).status).toBe(200)
    }).pipe(Effect.provide(serverLayer()))
  )
})
