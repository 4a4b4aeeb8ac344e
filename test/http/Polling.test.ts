import { HttpServerRequest } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Tracer } from "effect"
import { statusPollId } from "../../src/http/Polling.js"
import { batch, get, pollUntil, postJson, serverLayer } from "../support/http.js"

const request = (method: string, url: string) =>
  HttpServerRequest.fromWeb(new Request(`http://localhost${url}`, { method }))

describe("status polls", () => {
  it("are GET or HEAD /api/tasks/{task_id}, with or without a query, and nothing else", () => {
    const id = "3f0c2a9e-1b7d-4c55-9d0e-2a6b8f1c4d3e"
    expect(statusPollId(request("GET", `/api/tasks/${id}`))).toBe(id)
    expect(statusPollId(request("HEAD", `/api/tasks/${id}?x=1`))).toBe(id)
    expect(statusPollId(request("GET", "/api/tasks/not-a-uuid"))).toBe("not-a-uuid")
    for (const [method, url] of [
      ["DELETE", `/api/tasks/${id}`],
      ["POST", `/api/tasks/${id}`],
      ["GET", "/api/tasks"],
      ["GET", "/api/tasks/"],
      ["GET", "/api/tasks?status=PENDING"],
      ["GET", `/api/tasks/${id}/events`],
      ["GET", "/api/health"]
    ] as const) {
      expect(statusPollId(request(method, url))).toBeUndefined()
    }
  })
})

/** A tracer that records the server spans it makes (native ones), so that a test can see which requests had one. */
const recordingTracer = () => {
  const spans: Array<Tracer.Span> = []
  const native = Effect.runSync(Effect.tracer)
  const tracer = Tracer.make({
    span: (...args) => {
      const span = native.span(...args)
      // The test's own client makes spans too; only the server's are of interest.
      if (span.kind === "server") spans.push(span)
      return span
    },
    context: (f, fiber) => native.context(f, fiber)
  })
  const pathsTraced = () => spans.map((s) => `${s.name} ${String(s.attributes.get("url.path"))}`)
  return { layer: Layer.setTracer(tracer), spans, pathsTraced }
}

describe("tracing of status polls", () => {
  it.live("leaves polls out by default, and traces every other request", () => {
    const { layer, pathsTraced } = recordingTracer()
    return Effect.gen(function* () {
      const task = yield* postJson("/api/tasks", batch(1))
      const id = task.body.task_id
      yield* pollUntil(id, "COMPLETED")
      yield* get("/api/tasks/00000000-0000-4000-8000-000000000000")
      yield* get("/api/tasks/not-a-uuid")
      yield* get("/api/health")
      const traced = pathsTraced()
      expect(traced).toContain("http.server POST /api/tasks")
      expect(traced).toContain("http.server GET /api/health")
      expect(traced.filter((s) => s.includes("/api/tasks/"))).toEqual([])
    }).pipe(Effect.provide(serverLayer().pipe(Layer.provide(layer))))
  })

  it.live("traces polls too with HTTP_TRACE_POLLING=true, with their route", () => {
    const { layer, spans, pathsTraced } = recordingTracer()
    return Effect.gen(function* () {
      const task = yield* postJson("/api/tasks", batch(1))
      const id = task.body.task_id
      yield* pollUntil(id, "COMPLETED")
      expect(pathsTraced()).toContain(`http.server GET /api/tasks/${id}`)
      const poll = spans.find((s) => s.attributes.get("url.path") === `/api/tasks/${id}`)
      expect(poll?.attributes.get("http.route")).toBe("/api/tasks/:task_id")
      expect(poll?.attributes.get("http.response.status_code")).toBe(200)
    }).pipe(Effect.provide(serverLayer({ HTTP_TRACE_POLLING: "true" }).pipe(Layer.provide(layer))))
  })
})
