import { OpenApi } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { Api } from "../../../src/http/api/Api.js"
import { BATCH_LIMITS } from "../../../src/http/api/Wire.js"
import * as TestSynthesizer from "../../../src/layers/speech/TestSynthesizer.js"
import { batch, post, postJson, serverLayer } from "../../support/http.js"

const fieldsOf = (body: { issues: ReadonlyArray<{ field: string }> }) => body.issues.map((i) => i.field)

describe("HTTP: submit validation", () => {
  it.live("answers malformed JSON and an empty body with a 400 that says so", () =>
    Effect.gen(function* () {
      const malformed = yield* post("/api/tasks", '{"segments": [')
      expect(malformed.status).toBe(400)
      expect(malformed.body.error).toBe("InvalidRequest")
      expect(malformed.body.message).toMatch(/^The request body is not valid JSON: /)
      expect(fieldsOf(malformed.body)).toEqual(["body"])
      const empty = yield* post("/api/tasks", "")
      expect(empty.status).toBe(400)
      expect(empty.body.message).toMatch(/empty/)
      const notAnObject = yield* postJson("/api/tasks", [1, 2])
      expect(notAnObject.status).toBe(400)
      expect(fieldsOf(notAnObject.body)).toEqual(["body"])
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("refuses unknown fields and wrong types, naming every bad field", () =>
    Effect.gen(function* () {
      const reply = yield* postJson("/api/tasks", {
        segments: [{ segment_id: "s1", text: 42, colour: "red" }],
        speed: "fast",
        priority: 1
      })
      expect(reply.status).toBe(400)
      expect(fieldsOf(reply.body).sort()).toEqual(["priority", "segments[0].colour", "segments[0].text", "speed"])
      expect(reply.body.message).toMatch(/priority/)
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("needs 1 to 500 segments", () =>
    Effect.gen(function* () {
      const none = yield* postJson("/api/tasks", { segments: [] })
      expect(none.status).toBe(400)
      expect(none.body.issues).toEqual([{ field: "segments", message: "must hold at least 1 segment" }])
      const tooMany = yield* postJson("/api/tasks", batch(501))
      expect(tooMany.status).toBe(400)
      expect(tooMany.body.issues).toEqual([{ field: "segments", message: "must hold at most 500 segments" }])
      const missing = yield* postJson("/api/tasks", { voice: "en-us" })
      expect(fieldsOf(missing.body)).toEqual(["segments"])
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("refuses duplicate segment ids, unsafe ids such as ../, and text out of range", () =>
    Effect.gen(function* () {
      const duplicate = yield* postJson("/api/tasks", {
        segments: [
          { segment_id: "s1", text: "a" },
          { segment_id: "s1", text: "b" }
        ]
      })
      expect(duplicate.status).toBe(400)
      expect(duplicate.body.issues).toEqual([
        { field: "segments", message: "segment_id must be unique within a request; repeated: s1" }
      ])
      // Both at once: the repeated id is reported beside the malformed one, not hidden by it.
      const both = yield* postJson("/api/tasks", {
        segments: [
          { segment_id: "s1", text: "a" },
          { segment_id: "s1", text: "b" },
          { segment_id: "bad id!", text: "c" }
        ]
      })
      expect(both.status).toBe(400)
      expect(both.body.issues).toEqual([
        { field: "segments[2].segment_id", message: "must be 1 to 64 characters, each a letter, a digit, '_' or '-'" },
        { field: "segments", message: "segment_id must be unique within a request; repeated: s1" }
      ])
      const escaping = yield* postJson("/api/tasks", {
        segments: [
          { segment_id: "../../etc/passwd", text: "a" },
          { segment_id: "", text: "" },
          { segment_id: "x".repeat(65), text: "y".repeat(5001) }
        ]
      })
      expect(escaping.status).toBe(400)
      expect(fieldsOf(escaping.body)).toEqual([
        "segments[0].segment_id",
        "segments[1].segment_id",
        "segments[1].text",
        "segments[2].segment_id",
        "segments[2].text"
      ])
      expect(escaping.body.issues[4].message).toBe("must be 1 to 5000 characters (it has 5001)")
      // 5000 characters that are each two UTF-16 code units are still 5000 characters.
      const emoji = yield* postJson("/api/tasks", { segments: [{ segment_id: "e", text: "🦊".repeat(5000) }] })
      expect(emoji.status).toBe(202)
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("refuses an unknown voice and a speed outside 0.5–2.0", () =>
    Effect.gen(function* () {
      const reply = yield* postJson("/api/tasks", { ...batch(1), voice: "klingon", speed: 2.5 })
      expect(reply.status).toBe(400)
      expect(reply.body.issues).toEqual([
        { field: "voice", message: 'unknown voice "klingon"; GET /api/voices lists them' },
        { field: "speed", message: "must be from 0.5 to 2.0" }
      ])
      const voices = yield* postJson("/api/tasks", { ...batch(1), voice: "en-gb", speed: 0.5 })
      expect(voices.status).toBe(202)
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("answers 413 for a body over 2 MiB", () =>
    Effect.gen(function* () {
      const huge = yield* post(
        "/api/tasks",
        JSON.stringify({ segments: [{ segment_id: "s", text: "x".repeat(2_200_000) }] })
      )
      expect(huge.status).toBe(413)
      expect(huge.body).toMatchObject({ error: "PayloadTooLarge" })
      expect(huge.body.message).toMatch(/2 MiB/)
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("answers 503 with Retry-After once TASK_MAX_PENDING tasks are unfinished", () =>
    Effect.gen(function* () {
      const first = yield* postJson("/api/tasks", batch(1))
      expect(first.status).toBe(202)
      const refused = yield* postJson("/api/tasks", batch(1))
      expect(refused.status).toBe(503)
      expect(refused.headers["retry-after"]).toBe("5")
      expect(refused.body).toMatchObject({ error: "RegistryFull" })
      expect(refused.body.message).toMatch(/retry later/)
    }).pipe(Effect.provide(serverLayer({ TASK_MAX_PENDING: "1" }, TestSynthesizer.layer({ delay: "1 hour" }))))
  )

  it.live("admits by work: 503 RegistryBusy past TASK_MAX_PENDING_WORK characters, 413 for a batch over it alone", () =>
    Effect.gen(function* () {
      // batch(1) is one segment of 17 characters.
      expect((yield* postJson("/api/tasks", batch(1))).status).toBe(202)
      const busy = yield* postJson("/api/tasks", batch(1))
      expect(busy.status).toBe(503)
      expect(busy.headers["retry-after"]).toBe("5")
      expect(busy.body).toMatchObject({ error: "RegistryBusy", weight: 17, pending_weight: 17, max_pending_weight: 30 })
      const alone = yield* postJson("/api/tasks", batch(2))
      expect(alone.status).toBe(413)
      expect(alone.body).toMatchObject({ error: "TaskTooLarge", weight: 34, max_pending_weight: 30 })
      expect(alone.body.message).toMatch(/split it/)
    }).pipe(Effect.provide(serverLayer({ TASK_MAX_PENDING_WORK: "30" }, TestSynthesizer.layer({ delay: "1 hour" }))))
  )
})

describe("HTTP: the limits a batch meets", () => {
  const text = "a".repeat(5000)
  const segments = (n: number) => Array.from({ length: n }, (_, i) => ({ segment_id: `s${i}`, text }))

  it.live("accepts, with the defaults and nothing else running, a batch as large as the documented limits allow", () =>
    Effect.gen(function* () {
      // 50 segments of 5,000 characters: the 250,000 characters the README and the OpenAPI document promise.
      expect((yield* postJson("/api/tasks", { segments: segments(50) })).status).toBe(202)
    }).pipe(Effect.provide(serverLayer({}, TestSynthesizer.layer({ delay: "1 hour" }))))
  )

  it.live("says the same limits in the README, the OpenAPI schema and the 413", () =>
    Effect.gen(function* () {
      const over = yield* postJson("/api/tasks", { segments: [...segments(50), { segment_id: "one-more", text: "a" }] })
      expect(over.status).toBe(413)
      expect(over.body.message).toContain("TASK_MAX_PENDING_WORK")
      expect(over.body).toMatchObject({ weight: 250_001, max_pending_weight: 250_000 })
      const openapi = JSON.stringify(OpenApi.fromApi(Api))
      expect(openapi).toContain(JSON.stringify(BATCH_LIMITS))
      const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8").replace(/\s+/g, " ")
      for (const said of ["1–500 segments", "1–5000 characters", "`TASK_MAX_PENDING_WORK` characters in all"]) {
        expect(readme).toContain(said)
      }
      expect(readme).toContain("250,000 by default")
      expect(BATCH_LIMITS).toContain("250,000 by default")
      expect(readme).toContain("request body of at most 2 MiB")
    }).pipe(Effect.provide(serverLayer({}, TestSynthesizer.layer({ delay: "1 hour" }))))
  )
})
