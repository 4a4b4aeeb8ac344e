import { HttpClientRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as TestSynthesizer from "../../../src/layers/speech/TestSynthesizer.js"
import { batch, del, get, pollUntil, postJson, send, serverLayer } from "../../support/http.js"

/** POSTs `body` as JSON to /api/tasks with `Idempotency-Key: key`; answers status, headers and the raw text too. */
const submitKeyed = (body: unknown, key: string) =>
  send(
    HttpClientRequest.post("/api/tasks").pipe(
      HttpClientRequest.bodyText(JSON.stringify(body), "application/json"),
      HttpClientRequest.setHeader("Idempotency-Key", key)
    )
  )

describe("HTTP: Idempotency-Key on POST /api/tasks", () => {
  it.live("answers a repeat with the same status and body as the first, even once the task has finished", () =>
    Effect.gen(function* () {
      const first = yield* submitKeyed(batch(2), "order-1")
      expect(first.status).toBe(202)
      expect(first.body.status).toBe("PENDING")
      const repeat = yield* submitKeyed(batch(2), "order-1")
      expect(repeat.status).toBe(202)
      expect(repeat.body).toEqual(first.body)
      yield* pollUntil(first.body.task_id, "COMPLETED")
      const late = yield* submitKeyed(batch(2), "order-1")
      expect(late.status).toBe(202)
      expect(late.body).toEqual(first.body)
      // One task only.
      const list = yield* get("/api/tasks")
      expect(list.body.tasks.map((t: { task_id: string }) => t.task_id)).toEqual([first.body.task_id])
      // Without the header, the same body is a new task.
      const unkeyed = yield* postJson("/api/tasks", batch(2))
      expect(unkeyed.body.task_id).not.toBe(first.body.task_id)
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("answers 422 IdempotencyKeyReused for the same key with another body, storing nothing", () =>
    Effect.gen(function* () {
      const first = yield* submitKeyed(batch(2), "order-2")
      const other = yield* submitKeyed(batch(3), "order-2")
      expect(other.status).toBe(422)
      expect(other.body).toEqual({
        error: "IdempotencyKeyReused",
        message:
          `The idempotency key "order-2" was already used for task ${first.body.task_id}, with another kind or ` +
          "payload; use a new key for a new task",
        idempotency_key: "order-2",
        task_id: first.body.task_id
      })
      // Another voice is another body too.
      expect((yield* submitKeyed({ ...batch(2), voice: "en-gb" }, "order-2")).status).toBe(422)
      const list = yield* get("/api/tasks")
      expect(list.body.tasks).toHaveLength(1)
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("makes one task of 50 concurrent repeats, each answered 202 with the same body", () =>
    Effect.gen(function* () {
      const replies = yield* Effect.forEach(
        Array.from({ length: 50 }, (_, i) => i),
        () => submitKeyed(batch(1), "order-3"),
        { concurrency: "unbounded" }
      )
      expect(replies.map((r) => r.status)).toEqual(replies.map(() => 202))
      for (const reply of replies) expect(reply.body).toEqual(replies[0]!.body)
      const list = yield* get("/api/tasks")
      expect(list.body.tasks.map((t: { task_id: string }) => t.task_id)).toEqual([replies[0]!.body.task_id])
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("answers 400 naming the header for a key that is not 1 to 255 printable ASCII characters", () =>
    Effect.gen(function* () {
      const cases = [
        ["", "it is empty"],
        ["x".repeat(256), "it has 256 characters"],
        ["caf\u00e9", "its character 4 is U+00E9, not printable ASCII"],
        ["a\tb", "its character 2 is U+0009, not printable ASCII"]
      ] as const
      for (const [key, problem] of cases) {
        const reply = yield* submitKeyed(batch(1), key)
        expect(reply.status).toBe(400)
        expect(reply.body.error).toBe("InvalidRequest")
        const message =
          "the Idempotency-Key header must be 1 to 255 printable ASCII characters (space to ~), not starting or " +
          `ending with a space; ${problem}`
        expect(reply.body.issues).toEqual([{ field: "idempotency-key", message }])
        expect(reply.body.message).toContain("Idempotency-Key")
      }
      // Nothing was stored; the longest valid key is accepted.
      expect((yield* get("/api/tasks")).body.tasks).toEqual([])
      expect((yield* submitKeyed(batch(1), "~".repeat(255))).status).toBe(202)
    }).pipe(Effect.provide(serverLayer()))
  )

  // Not a key, but the same question for the other write a client may retry after a 503: the README says a retried
  // cancel answers this, so that a client can tell that its first one was made.
  it.live("a cancel retried after it was made answers 409 TaskAlreadyFinished, status CANCELLED", () =>
    Effect.gen(function* () {
      const task = yield* postJson("/api/tasks", batch(1))
      yield* pollUntil(task.body.task_id, "PROCESSING")
      const first = yield* del(`/api/tasks/${task.body.task_id}`)
      expect(first.status).toBe(200)
      expect(first.body.status).toBe("CANCELLED")
      const retried = yield* del(`/api/tasks/${task.body.task_id}`)
      expect(retried.status).toBe(409)
      expect(retried.body).toMatchObject({
        error: "TaskAlreadyFinished",
        task_id: task.body.task_id,
        status: "CANCELLED"
      })
    }).pipe(Effect.provide(serverLayer({}, TestSynthesizer.layer({ delay: "1 hour" }))))
  )
})
