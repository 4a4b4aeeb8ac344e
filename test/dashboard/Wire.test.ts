import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import { Effect } from "effect"
import type { HealthJson, TaskListJson, TaskStatusJson } from "../../src/http/api/Wire.js"
import type { Stats, TaskStatus, TaskSummary } from "../../web/wire.js"
import { isHealth, isTaskList, isTaskStatus } from "../../web/wire.js"
import { batch, get, pollUntil, postJson, serverLayer } from "../support/http.js"

// The dashboard declares the API's JSON on its own (it is compiled for the browser, without effect); these keep its
// declarations and checks the same as what the server sends.

describe("dashboard: the wire types", () => {
  it("declares TaskStatus, the listing's summaries and the counts exactly as the server encodes them", () => {
    expectTypeOf<TaskStatus>().toEqualTypeOf<TaskStatusJson>()
    expectTypeOf<TaskSummary>().toEqualTypeOf<(typeof TaskListJson.Type)["tasks"][number]>()
    expectTypeOf<Stats>().toEqualTypeOf<(typeof HealthJson.Type)["tasks"]>()
  })

  it.live("accepts what the server answers: a submitted and a finished task, the listing, the health counts", () =>
    Effect.gen(function* () {
      const submitted = yield* postJson("/api/tasks", batch(2))
      expect(isTaskStatus(submitted.body)).toBe(true)
      const done = yield* pollUntil(submitted.body.task_id, "COMPLETED")
      expect(done.body.completed_segments).toHaveLength(2)
      expect(isTaskStatus(done.body)).toBe(true)
      expect(isTaskStatus({ ...done.body, version: "7" })).toBe(false)
      expect(isTaskList((yield* get("/api/tasks")).body)).toBe(true)
      expect(isHealth((yield* get("/api/health")).body)).toBe(true)
    }).pipe(Effect.provide(serverLayer()))
  )
})
