import { HttpServer } from "@effect/platform"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Context } from "effect"
import { Effect, FastCheck as fc, Layer, ManagedRuntime, Runtime, Stream, Tracer } from "effect"
import * as Http from "node:http"
import { Socket } from "node:net"
import { TaskNotFound } from "../../../src/domain/Errors.js"
import * as Task from "../../../src/domain/Task.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import * as NodeServer from "../../../src/http/transport/NodeServer.js"
import { answerPoll, statusPollId } from "../../../src/http/transport/Polling.js"
import { makeStatusBodies } from "../../../src/http/api/StatusBody.js"
import { servicesWith } from "../../../src/App.js"
import { HttpAppLive } from "../../../src/http/HttpApp.js"
import * as TestSynthesizer from "../../../src/layers/speech/TestSynthesizer.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import type { Known } from "../../support/fuzzRequests.js"
import { idChoice, idText } from "../../support/fuzzRequests.js"
import { batch, del, get, pollUntil, postJson, serverLayer, tempAudioDir } from "../../support/http.js"
import type { RawReply } from "../../support/rawHttp.js"
import { sendRaw } from "../../support/rawHttp.js"
import { withEnv } from "../../support/registry.js"

const request = (method: string, url: string) => ({ method, url })

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

describe("the intercept for polls", () => {
  const id = TaskId.make("3f0c2a9e-1b7d-4c55-9d0e-2a6b8f1c4d3e")
  const registry = (get: Context.Tag.Service<typeof TaskRegistry>["get"]) =>
    TaskRegistry.of({
      submit: () => Effect.die("not used"),
      get,
      list: () => Effect.die("not used"),
      cancel: () => Effect.die("not used"),
      watch: () => Stream.die("not used"),
      events: Stream.die("not used"),
      eventsAfter: () => Stream.die("not used"),
      sweep: Effect.die("not used"),
      stats: Effect.die("not used")
    })
  const incoming = (method: string, url: string) => {
    const message = new Http.IncomingMessage(new Socket())
    message.method = method
    message.url = url
    return message
  }
  const answers = (get: Context.Tag.Service<typeof TaskRegistry>["get"], method: string, url: string) => {
    const request = incoming(method, url)
    return answerPoll(
      registry(get),
      makeStatusBodies(),
      Runtime.defaultRuntime
    )(request, new Http.ServerResponse(request))
  }

  it.live("leaves to the platform what is not a poll of a task found at once, and stops a read that would wait", () =>
    Effect.gen(function* () {
      const found = () => Effect.succeed(Task.pending({ id, kind: "narration", payload: {}, total: 1, createdAt: 0 }))
      expect(answers(found, "DELETE", `/api/tasks/${id}`)).toBe(false)
      expect(answers(found, "GET", "/api/tasks/not-a-uuid")).toBe(false)
      expect(answers((taskId) => Effect.fail(new TaskNotFound({ taskId })), "GET", `/api/tasks/${id}`)).toBe(false)
      expect(answers(() => Effect.die("the disk caught fire"), "GET", `/api/tasks/${id}`)).toBe(false)
      let interrupted = false
      const waits = () => Effect.never.pipe(Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))))
      expect(answers(waits, "GET", `/api/tasks/${id}`)).toBe(false)
      yield* Effect.sleep("10 millis")
      expect(interrupted).toBe(true)
    })
  )

  it.live("answers the polls of tasks it finds, before the platform, and leaves every other request to it", () =>
    Effect.gen(function* () {
      const server = yield* NodeServer.NodeServer
      const installed = server.intercept
      if (installed === undefined) return yield* Effect.dieMessage("no intercept installed")
      const answered: Array<string> = []
      server.intercept = (request, response) => {
        const done = installed(request, response)
        if (done) answered.push(`${request.method} ${request.url}`)
        return done
      }
      const task = yield* postJson("/api/tasks", batch(1))
      const id = task.body.task_id
      yield* pollUntil(id, "COMPLETED")
      answered.length = 0
      expect((yield* get(`/api/tasks/${id}`)).body.status).toBe("COMPLETED")
      expect((yield* get(`/api/tasks/${id}?verbose=1`)).status).toBe(200)
      expect((yield* get("/api/tasks/00000000-0000-4000-8000-000000000000")).status).toBe(404)
      expect((yield* get("/api/tasks/not-a-uuid")).status).toBe(400)
      expect((yield* get("/api/tasks")).status).toBe(200)
      expect((yield* del(`/api/tasks/${id}`)).status).toBe(409)
      expect(answered).toEqual([`GET /api/tasks/${id}`, `GET /api/tasks/${id}?verbose=1`])
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("is not installed when polls are traced", () =>
    Effect.gen(function* () {
      expect((yield* NodeServer.NodeServer).intercept).toBeUndefined()
    }).pipe(Effect.provide(serverLayer({ HTTP_TRACE_POLLING: "true" })))
  )
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

// A poll answered by the intercept must be answered exactly as the platform answers it. Two servers share one
// registry: one with the intercept (the default), one without (HTTP_TRACE_POLLING=true); every generated poll gets
// the same answer from both, byte for byte and header for header, in the same order.
describe("polls answered by the intercept", () => {
  const services = ManagedRuntime.make(
    withEnv(servicesWith(TestSynthesizer.layer()), {
      AUDIO_DIR: tempAudioDir(),
      TASK_CLEANUP_INTERVAL: "0",
      // Small, so that the first task is evicted and answers 410 from its tombstone.
      TASK_MAX_RETAINED: "2"
    })
  )
  const servers: Array<ManagedRuntime.ManagedRuntime<HttpServer.HttpServer, unknown>> = []
  const ports = { fast: 0, router: 0 }
  const known: Known = { taskIds: [], audioPaths: [] }
  const timeout = { timeoutMs: 5_000 }

  const start = async (env: Record<string, string>) => {
    const { context } = await services.runtime()
    // A runtime of its own for each server, so that no layer of one is shared with the other; the registry is.
    const server = ManagedRuntime.make(
      withEnv(HttpAppLive, env).pipe(
        Layer.provideMerge(NodeServer.layer({ host: "127.0.0.1", port: 0 })),
        Layer.provide(Layer.succeedContext(context))
      )
    )
    servers.push(server)
    const address = await server.runPromise(Effect.map(HttpServer.HttpServer, (s) => s.address))
    return address._tag === "TcpAddress" ? address.port : 0
  }

  const json = (reply: RawReply): unknown => JSON.parse(reply.body.toString("utf8"))
  const field = (value: unknown, name: string) =>
    typeof value === "object" && value !== null ? Reflect.get(value, name) : undefined

  beforeAll(async () => {
    ports.fast = await start({})
    ports.router = await start({ HTTP_TRACE_POLLING: "true" })
    const body = (text: string) => new TextEncoder().encode(JSON.stringify({ segments: [{ segment_id: "s1", text }] }))
    for (const text of ["First.", "Second.", "[fail] Third."]) {
      const sent = {
        method: "POST",
        path: "/api/tasks",
        headers: { "content-type": "application/json" },
        body: body(text)
      }
      const id = field(json(await sendRaw(ports.fast, sent, timeout)), "task_id")
      if (typeof id !== "string") throw new Error("submit did not answer a task id")
      for (let i = 0; i < 100; i++) {
        const status = field(
          json(await sendRaw(ports.fast, { method: "GET", path: `/api/tasks/${id}`, headers: {} }, timeout)),
          "status"
        )
        if (status === "COMPLETED" || status === "FAILED") break
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      known.taskIds.push(id)
    }
  }, 30_000)

  afterAll(async () => {
    for (const server of servers) await server.dispose()
    await services.dispose()
  })

  it(
    "are answered exactly as the platform answers them: 200, 404, 410 and 400 alike",
    { timeout: 60_000 },
    async () => {
      const seen = new Set<number>()
      const comparable = (reply: RawReply) => {
        const headers = reply.rawHeaders.flatMap((value, i) =>
          i % 2 === 1 || value.toLowerCase() === "date" ? [] : [`${value}: ${reply.rawHeaders[i + 1]}`]
        )
        return { status: reply.status, headers, body: reply.body.toString("utf8") }
      }
      await fc.assert(
        fc.asyncProperty(
          idChoice,
          fc.constantFrom("GET", "HEAD"),
          fc.constantFrom("", "?x=1", "?", "/", "#top"),
          // Headers that a middleware might answer differently to (CORS, caching, compression).
          fc.constantFrom(
            {},
            { origin: "http://example.com" },
            { "if-none-match": "*" },
            { "accept-encoding": "gzip" }
          ),
          async (id, method, suffix, headers) => {
            const sent = { method, path: `/api/tasks/${idText(id, known)}${suffix}`, headers }
            const fast = await sendRaw(ports.fast, sent, timeout)
            const router = await sendRaw(ports.router, sent, timeout)
            seen.add(fast.status)
            expect(comparable(fast)).toEqual(comparable(router))
          }
        ),
        { numRuns: 150, seed: 20261127 }
      )
      expect([...seen].sort()).toEqual([200, 400, 404, 410])
    }
  )
})
