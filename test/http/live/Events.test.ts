import { describe, expect, it } from "@effect/vitest"
import {
  Context,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Metric,
  Predicate,
  Scope,
  TestClock,
  TestServices
} from "effect"
import * as TestSynthesizer from "../../../src/layers/speech/TestSynthesizer.js"
import { eventStreamsOpen } from "../../../src/http/metrics/HttpMetrics.js"
import { servicesWith } from "../../../src/App.js"
import { HttpAppLive } from "../../../src/http/HttpApp.js"
import * as Listener from "../../../src/http/transport/Listener.js"
import { batch, get, postJson, send, tempAudioDir } from "../../support/http.js"
import { logCapture } from "../../support/logs.js"
import { eventually, withEnv, within } from "../../support/registry.js"
import type { Frame } from "../../support/sse.js"
import { countedServerLayer, InjectEvent, openEvents, OpenSubscriptions } from "../../support/sse.js"
import { HttpClientRequest, HttpServer } from "@effect/platform"
import * as Net from "node:net"
import { eventFrame } from "../../../src/http/live/AllEvents.js"
import { READER_BUFFER } from "../../../src/http/live/SharedFeed.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

/** Each segment takes a second of the test clock, so that the test decides when a task moves on. */
const slow = (env: Record<string, string> = {}) => countedServerLayer(env, TestSynthesizer.layer({ delay: "1 second" }))

const dataOf = (frame: Frame) => JSON.parse(frame.data ?? "null")

/** Moves the test clock on a second at a time, in the background, for as long as the scope is open (bounded). */
const ticking = Effect.forkScoped(
  Effect.gen(function* () {
    for (let i = 0; i < 500; i++) {
      yield* TestClock.adjust("1 second")
      yield* TestServices.provideLive(Effect.sleep("10 millis"))
    }
  })
)

describe("GET /api/tasks/{task_id}/events", () => {
  it.scoped("sends every snapshot as `event: status` with its version as id, and closes after the terminal one", () =>
    Effect.gen(function* () {
      const submitted = yield* postJson("/api/tasks", batch(3))
      const id: string = submitted.body.task_id
      const stream = yield* openEvents(`/api/tasks/${id}/events`)
      expect(stream.headers["content-type"]).toBe("text/event-stream")
      expect(stream.headers["cache-control"]).toBe("no-cache")
      const first = yield* stream.next
      expect(first.event).toBe("status")
      expect(["PENDING", "PROCESSING"]).toContain(dataOf(first).status)
      yield* ticking
      const frames = [first, ...(yield* stream.ended)].filter((f) => f.comment === undefined)
      const versions = frames.map((f) => dataOf(f).version)
      expect(frames.map((f) => f.id)).toEqual(versions.map(String))
      expect(frames.every((f) => f.event === "status")).toBe(true)
      // PENDING or PROCESSING, three segments, the end: at least four snapshots, each newer than the one before.
      expect(frames.length).toBeGreaterThanOrEqual(4)
      versions.slice(1).forEach((v, i) => expect(v).toBeGreaterThan(versions[i]))
      const last = dataOf(frames[frames.length - 1]!)
      expect(last.status).toBe("COMPLETED")
      expect(last.progress).toEqual({ current: 3, total: 3, percentage: 100 })
      // The very JSON that a poll answers.
      expect(last).toEqual((yield* get(`/api/tasks/${id}`)).body)
    }).pipe(Effect.provide(slow()))
  )

  it.scoped("resumes after Last-Event-ID: only newer snapshots; 204 once nothing newer can come", () =>
    Effect.gen(function* () {
      const id: string = (yield* postJson("/api/tasks", batch(2))).body.task_id
      const watching = yield* openEvents(`/api/tasks/${id}/events`)
      let current = dataOf(yield* watching.next)
      while (current.status !== "PROCESSING") current = dataOf(yield* watching.next)
      // Reconnecting with the current version: the current snapshot is not sent again; the next change is first.
      const resumed = yield* openEvents(`/api/tasks/${id}/events`, { "last-event-id": String(current.version) })
      expect(yield* resumed.next).toEqual({ comment: "ping" })
      yield* TestClock.adjust("1 second")
      const next = yield* resumed.next
      expect(Number(next.id)).toBe(current.version + 1)
      yield* ticking
      const rest = (yield* resumed.ended).filter((f) => f.comment === undefined)
      const final = dataOf(rest[rest.length - 1] ?? next)
      expect(final.status).toBe("COMPLETED")

      // After the end: one before the last gets the last alone; the last gets 204 (an EventSource stops retrying).
      const lastButOne = yield* openEvents(`/api/tasks/${id}/events`, { "last-event-id": String(final.version - 1) })
      const tail = yield* lastButOne.ended
      expect(tail.map((f) => f.id)).toEqual([String(final.version)])
      const done = yield* send(
        HttpClientRequest.get(`/api/tasks/${id}/events`).pipe(
          HttpClientRequest.setHeader("last-event-id", String(final.version))
        )
      )
      expect(done.status).toBe(204)
      expect(done.body).toBe("")
    }).pipe(Effect.provide(slow()))
  )

  it.scoped("answers 400, 404 and 410 as the usual JSON errors, before any event", () =>
    Effect.gen(function* () {
      const bad = yield* get("/api/tasks/not-a-uuid/events")
      expect(bad.status).toBe(400)
      expect(bad.body).toMatchObject({ error: "InvalidRequest", issues: [{ field: "task_id" }] })
      const unknown = yield* get("/api/tasks/00000000-0000-4000-8000-000000000000/events")
      expect(unknown.status).toBe(404)
      expect(unknown.body).toMatchObject({ error: "TaskNotFound" })

      const id: string = (yield* postJson("/api/tasks", batch(1))).body.task_id
      const badResume = yield* send(
        HttpClientRequest.get(`/api/tasks/${id}/events`).pipe(HttpClientRequest.setHeader("last-event-id", "soon"))
      )
      expect(badResume.status).toBe(400)
      expect(badResume.body).toMatchObject({ error: "InvalidRequest", issues: [{ field: "last-event-id" }] })

      yield* ticking
      yield* eventually(get(`/api/tasks/${id}`), (r) => r.status === 410)
      const gone = yield* get(`/api/tasks/${id}/events`)
      expect(gone.status).toBe(410)
      expect(gone.headers["content-type"]).toContain("application/json")
      expect(gone.body).toMatchObject({ error: "TaskExpired", task_id: id, status: "COMPLETED" })
      expect(gone.body).toEqual((yield* get(`/api/tasks/${id}`)).body)
    }).pipe(Effect.provide(slow({ TASK_CLEANUP_THRESHOLD: "5" })))
  )

  it.scoped("sends a `: ping` comment every 15 s while nothing changes", () =>
    Effect.gen(function* () {
      const id: string = (yield* postJson("/api/tasks", batch(1))).body.task_id
      const stream = yield* openEvents(`/api/tasks/${id}/events`)
      let first = yield* stream.next
      if (dataOf(first).status === "PENDING") first = yield* stream.next
      expect(dataOf(first).status).toBe("PROCESSING")
      yield* TestClock.adjust("14 seconds")
      yield* TestServices.provideLive(Effect.sleep("100 millis"))
      expect(yield* stream.pending).toBe(0)
      yield* TestClock.adjust("1 second")
      expect(yield* stream.next).toEqual({ comment: "ping" })
      yield* TestClock.adjust("15 seconds")
      expect(yield* stream.next).toEqual({ comment: "ping" })
    }).pipe(Effect.provide(countedServerLayer({}, TestSynthesizer.layer({ delay: "1 hour" }))))
  )

  it.scoped("shares one registry subscription among a task's watchers, and frees it when the last goes away", () => {
    const { layer: logs, lines } = logCapture()
    return Effect.gen(function* () {
      const open = yield* OpenSubscriptions
      const openGauge = Metric.tagged(eventStreamsOpen, "stream", "task")
      const id: string = (yield* postJson("/api/tasks", batch(1))).body.task_id
      const first = yield* Scope.make()
      const client = yield* Scope.make()
      const leaving = yield* openEvents(`/api/tasks/${id}/events`).pipe(Scope.extend(first))
      const streams = yield* Effect.all(
        Array.from({ length: 2 }, () => openEvents(`/api/tasks/${id}/events`)),
        { concurrency: "unbounded" }
      ).pipe(Scope.extend(client))
      yield* Effect.forEach([leaving, ...streams], (s) => s.next)
      // Three streams open, one watch of the registry between them.
      expect(yield* open).toBe(1)
      expect((yield* Metric.value(openGauge)).count).toBe(3)
      // One leaves: the others keep the watch, and still get what comes (a ping after 15 s).
      yield* Scope.close(first, Exit.void)
      expect((yield* eventually(Metric.value(openGauge), (s) => s.count === 2)).count).toBe(2)
      expect(yield* open).toBe(1)
      yield* TestClock.adjust("15 seconds")
      for (const stream of streams) expect(yield* stream.next).toEqual({ comment: "ping" })
      yield* Scope.close(client, Exit.void)
      expect(yield* eventually(open, (n) => n === 0)).toBe(0)
      expect((yield* eventually(Metric.value(openGauge), (s) => s.count === 0)).count).toBe(0)
      // Clients going away is no failure.
      expect(lines.filter((l) => l.level !== "INFO" && l.level !== "DEBUG")).toEqual([])
    }).pipe(Effect.provide(countedServerLayer({}, TestSynthesizer.layer({ delay: "1 hour" }))), Effect.provide(logs))
  })

  it.live("ends open streams when the server shuts down, rather than holding it for the grace period", () =>
    Effect.gen(function* () {
      const server = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        countedServerLayer({}, TestSynthesizer.layer({ delay: "1 hour" })),
        server
      )
      const address = Context.get(context, HttpServer.HttpServer).address
      const port = address._tag === "TcpAddress" ? address.port : 0
      const id: string = (yield* Effect.provide(postJson("/api/tasks", batch(1)), context)).body.task_id
      // A client of its own: the test layer's client closes with the server, and would cut the stream itself.
      const response = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/api/tasks/${id}/events`))
      expect(response.status).toBe(200)
      const body = Effect.promise(() => response.text())
      const closing = yield* Effect.fork(Scope.close(server, Exit.void))
      const text = yield* within(3, "the stream did not end", body)
      expect(text).toMatch(/^id: \d+\nevent: status\ndata: \{/)
      yield* within(3, "the server did not close", Fiber.join(closing))
    })
  )
})

describe("the event streams in the API description", () => {
  it.scoped("are documented as text/event-stream, with their wire format", () =>
    Effect.gen(function* () {
      const openapi = (yield* get("/openapi.json")).body
      const task = openapi.paths["/api/tasks/{task_id}/events"].get
      expect(Object.keys(task.responses)).toEqual(expect.arrayContaining(["200", "204", "400", "404", "410"]))
      expect(Object.keys(task.responses["200"].content)).toEqual(["text/event-stream"])
      expect(task.description).toContain("Last-Event-ID")
      const all = openapi.paths["/api/events"].get
      expect(Object.keys(all.responses["200"].content)).toEqual(["text/event-stream"])
      expect(all.description).toContain('{"task_id","status","completed_at","evicted_at","cause"}')
      expect(all.description).toContain('{"pending","processing","finished","tombstones"}')
    }).pipe(Effect.provide(countedServerLayer()))
  )
})

describe("event streams on the production listener", () => {
  it.live("are not cut by the header and request timeouts, and do not hold shutdown for the grace period", () =>
    Effect.gen(function* () {
      const server = yield* Scope.make()
      const listener = Listener.layer({
        port: 0,
        headersTimeout: Duration.millis(200),
        requestTimeout: Duration.millis(300),
        keepAliveTimeout: Duration.millis(200),
        shutdownGrace: Duration.seconds(5)
      })
      const app = withEnv(
        HttpAppLive.pipe(
          Layer.provideMerge(listener),
          Layer.provideMerge(servicesWith(TestSynthesizer.layer({ delay: "1 hour" })))
        ),
        { AUDIO_DIR: tempAudioDir(), TASK_CLEANUP_INTERVAL: "0" }
      )
      const context = yield* Layer.buildWithScope(app, server)
      const address = Context.get(context, HttpServer.HttpServer).address
      const base = `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}`
      const submitted: unknown = yield* Effect.promise(() =>
        fetch(`${base}/api/tasks`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(batch(1))
        }).then((r) => r.json())
      )
      const id = Predicate.hasProperty(submitted, "task_id") ? String(submitted.task_id) : "none"
      const response = yield* Effect.promise(() => fetch(`${base}/api/tasks/${id}/events`))
      expect(response.status).toBe(200)
      let endedAt = 0
      const body = response.text().then((text) => {
        endedAt = Date.now()
        return text
      })
      // Four times the request timeout, and more than its check interval: a timeout that applied would have cut it.
      yield* Effect.sleep("1200 millis")
      expect(endedAt).toBe(0)
      const closingAt = Date.now()
      yield* within(3, "the server did not close", Scope.close(server, Exit.void))
      const text = yield* within(
        3,
        "the stream did not end",
        Effect.promise(() => body)
      )
      expect(text).toMatch(/^id: \d+\nevent: status\n/)
      expect(endedAt).toBeGreaterThanOrEqual(closingAt)
      // Well within the 5 s grace: the stream ended itself, and its connection closed as an idle one.
      expect(Date.now() - closingAt).toBeLessThan(2000)
    })
  )
})

describe("GET /api/events", () => {
  it.scoped("sends the counts at once, every change, every eviction with its cause, and counts after changes", () =>
    Effect.gen(function* () {
      const stream = yield* openEvents("/api/events")
      expect(stream.headers["content-type"]).toBe("text/event-stream")
      const hello = yield* stream.next
      expect(hello).toEqual({
        event: "stats",
        data: JSON.stringify({ pending: 0, processing: 0, finished: 0, tombstones: 0 })
      })
      const id: string = (yield* postJson("/api/tasks", batch(1))).body.task_id
      const pending = yield* stream.next
      expect(pending.event).toBe("status")
      // Every change and eviction has its registry-wide id, from which a reconnect resumes.
      expect(pending.id).toMatch(/-\d+$/)
      expect(dataOf(pending)).toMatchObject({ task_id: id, status: "PENDING", version: 1 })
      expect(dataOf(yield* stream.next)).toMatchObject({ task_id: id, status: "PROCESSING" })

      // A second of the clock: the segment is done. The counts go out on the tick after changes, not per change.
      yield* TestClock.adjust("1 second")
      const seen: Array<Frame> = []
      while (!seen.some((f) => f.event === "status" && dataOf(f).status === "COMPLETED")) seen.push(yield* stream.next)
      yield* TestClock.adjust("1 second")
      while (!seen.some((f) => f.event === "stats" && dataOf(f).finished === 1)) seen.push(yield* stream.next)
      const stats = seen.filter((f) => f.event === "stats")
      expect(dataOf(stats[stats.length - 1]!)).toEqual({ pending: 0, processing: 0, finished: 1, tombstones: 0 })
      // At most one stats event per second of the clock: two seconds, at most two.
      expect(stats.length).toBeLessThanOrEqual(2)

      // Past the threshold, a read evicts the record: its tombstone goes out, as the 410 states it.
      yield* TestClock.adjust("5 seconds")
      const gone = yield* get(`/api/tasks/${id}`)
      expect(gone.status).toBe(410)
      let evicted = yield* stream.next
      while (evicted.event !== "evicted") evicted = yield* stream.next
      expect(evicted.id).toMatch(/-\d+$/)
      expect(dataOf(evicted)).toEqual({
        task_id: id,
        status: "COMPLETED",
        completed_at: gone.body.completed_at,
        evicted_at: gone.body.evicted_at,
        cause: "age"
      })
      expect(dataOf(evicted).completed_at).toMatch(ISO)
      yield* TestClock.adjust("1 second")
      let after = yield* stream.next
      while (after.event !== "stats") after = yield* stream.next
      expect(dataOf(after)).toEqual({ pending: 0, processing: 0, finished: 0, tombstones: 1 })
    }).pipe(Effect.provide(slow({ TASK_CLEANUP_THRESHOLD: "3" })))
  )

  it.scoped("names an eviction by the cap `cap`, sends no counts while nothing changes, and pings", () =>
    Effect.gen(function* () {
      const stream = yield* openEvents("/api/events")
      expect((yield* stream.next).event).toBe("stats")
      const first: string = (yield* postJson("/api/tasks", batch(1))).body.task_id
      yield* postJson("/api/tasks", batch(1))
      yield* ticking
      let evicted = yield* stream.next
      while (evicted.event !== "evicted") evicted = yield* stream.next
      expect(dataOf(evicted)).toMatchObject({ task_id: first, cause: "cap" })
    }).pipe(Effect.provide(slow({ TASK_MAX_RETAINED: "1" })))
  )

  it.scoped(
    "ends the stream when the registry may have missed changes, so that the client reads the list again",
    () => {
      const { layer: logs, lines } = logCapture()
      return Effect.gen(function* () {
        const open = yield* OpenSubscriptions
        const stream = yield* openEvents("/api/events")
        expect((yield* stream.next).event).toBe("stats")
        expect(yield* open).toBe(1)
        yield* Effect.flatMap(InjectEvent, (inject) => inject({ _tag: "Missed" }))
        expect(yield* stream.ended).toEqual([])
        expect(yield* eventually(open, (n) => n === 0)).toBe(0)
        // It ends as planned, not on a failure.
        expect(lines.filter((l) => l.level !== "INFO" && l.level !== "DEBUG")).toEqual([])
      }).pipe(Effect.provide(slow()), Effect.provide(logs))
    }
  )

  it.scoped("shares one registry subscription among its clients, each with its counts first", () =>
    Effect.gen(function* () {
      const open = yield* OpenSubscriptions
      const client = yield* Scope.make()
      const streams = yield* Effect.all(
        Array.from({ length: 3 }, () => openEvents("/api/events")),
        { concurrency: "unbounded" }
      ).pipe(Scope.extend(client))
      for (const stream of streams) expect((yield* stream.next).event).toBe("stats")
      expect(yield* open).toBe(1)
      const id: string = (yield* postJson("/api/tasks", batch(1))).body.task_id
      for (const stream of streams) expect(dataOf(yield* stream.next)).toMatchObject({ task_id: id, version: 1 })
      yield* Scope.close(client, Exit.void)
      expect(yield* eventually(open, (n) => n === 0)).toBe(0)
    }).pipe(Effect.provide(slow()))
  )

  it.scoped("resumes after Last-Event-ID with the events after it; an id the history does not hold gets `missed`", () =>
    Effect.gen(function* () {
      const stream = yield* openEvents("/api/events")
      expect((yield* stream.next).event).toBe("stats")
      const first: string = (yield* postJson("/api/tasks", batch(1))).body.task_id
      const submitted = yield* stream.next
      expect(dataOf(submitted)).toMatchObject({ task_id: first, status: "PENDING" })
      const rest = [yield* stream.next]
      const resumed = yield* openEvents("/api/events", { "last-event-id": submitted.id! })
      expect((yield* resumed.next).event).toBe("stats")
      for (const frame of rest) expect(yield* resumed.next).toEqual(frame)
      const lost = yield* openEvents("/api/events", { "last-event-id": "e0-1" })
      expect((yield* lost.next).event).toBe("stats")
      expect((yield* lost.next).event).toBe("missed")
      // And goes on live.
      const second: string = (yield* postJson("/api/tasks", batch(1))).body.task_id
      expect(dataOf(yield* lost.next)).toMatchObject({ task_id: second, status: "PENDING" })
    }).pipe(Effect.provide(slow()))
  )

  it.live("cuts a client that stopped reading once it is a reader's buffer behind; the others get every event", () =>
    Effect.gen(function* () {
      const { layer: logs, lines } = logCapture()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(Layer.merge(countedServerLayer(), logs), scope)
      const address = Context.get(context, HttpServer.HttpServer).address
      const port = address._tag === "TcpAddress" ? address.port : 0
      const inject = Context.get(context, InjectEvent)
      const registry = Context.get(context, TaskRegistry)
      const allGauge = Metric.tagged(eventStreamsOpen, "stream", "all")
      // A finished task of 100 segments: each change of it is a frame of some 16 KB.
      const ids = Array.from({ length: 100 }, (_, i) => `segment-${String(i).padStart(56, "0")}`)
      const submitted = yield* Effect.provide(
        postJson("/api/tasks", { segments: ids.map((segment_id) => ({ segment_id, text: "Hi." })) }),
        context
      )
      const task = yield* eventually(Effect.orDie(registry.get(submitted.body.task_id)), (t) => t._tag === "COMPLETED")
      // Two raw clients: one reads everything, the other stops reading after the response's head.
      const client = (read: boolean) =>
        Effect.async<{ readonly received: () => number; readonly closed: () => boolean }>((resume) => {
          const socket = Net.connect(port, "127.0.0.1")
          let received = 0
          let closed = false
          socket.on("data", (chunk: Buffer) => {
            if (received === 0) resume(Effect.succeed({ received: () => received, closed: () => closed }))
            received += chunk.length
            if (!read) socket.pause()
          })
          socket.on("close", () => (closed = true))
          socket.on("error", () => {})
          socket.write("GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
          return Effect.sync(() => socket.destroy())
        })
      const stalled = yield* client(false)
      const reader = yield* client(true)
      expect((yield* eventually(Metric.value(allGauge), (g) => g.count === 2)).count).toBe(2)
      // Until the stalled client is cut (its stream closed on the server): more than the sockets' buffers hold (a few
      // MB, as the kernel sets them) and a reader's buffer beyond. In bursts of 16 with a moment between, in which a
      // reader that reads takes them all (a burst is written in one go, before any socket can drain). Bounded.
      let events = 0
      while ((yield* Metric.value(allGauge)).count === 2 && events < 8_000) {
        for (let i = 0; i < 16; i++) yield* inject({ _tag: "Changed", id: `e1-${++events}`, task, here: true })
        yield* Effect.sleep("5 millis")
      }
      expect(events).toBeGreaterThan(READER_BUFFER)
      expect((yield* eventually(Metric.value(allGauge), (g) => g.count === 1)).count).toBe(1)
      // The reader goes on, and gets every frame.
      const frame = eventFrame({ _tag: "Changed", id: `e1-${events}`, task, here: true }).length
      yield* eventually(
        Effect.sync(() => reader.received()),
        (n) => n >= events * frame
      )
      expect(reader.closed()).toBe(false)
      expect(stalled.received()).toBeLessThan(events * frame)
      yield* Scope.close(scope, Exit.void)
      expect(lines.filter((l) => l.level !== "INFO" && l.level !== "DEBUG")).toEqual([])
    })
  )

  it.scoped("sends nothing but pings while nothing changes, and frees its subscription when the client goes", () =>
    Effect.gen(function* () {
      const open = yield* OpenSubscriptions
      const client = yield* Scope.make()
      const stream = yield* openEvents("/api/events").pipe(Scope.extend(client))
      expect((yield* stream.next).event).toBe("stats")
      expect(yield* open).toBe(1)
      yield* TestClock.adjust("14 seconds")
      yield* TestServices.provideLive(Effect.sleep("100 millis"))
      expect(yield* stream.pending).toBe(0)
      yield* TestClock.adjust("1 second")
      expect(yield* stream.next).toEqual({ comment: "ping" })
      yield* Scope.close(client, Exit.void)
      expect(yield* eventually(open, (n) => n === 0)).toBe(0)
    }).pipe(Effect.provide(slow()))
  )
})
