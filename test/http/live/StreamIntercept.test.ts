import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Runtime, Scope } from "effect"
import * as Http from "node:http"
import { Socket } from "node:net"
import { Readable } from "node:stream"
import { TaskNotFound } from "../../../src/domain/Errors.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import type { LiveFeeds } from "../../../src/http/live/LiveFeeds.js"
import { answerStream } from "../../../src/http/live/StreamIntercept.js"
import * as NodeServer from "../../../src/http/transport/NodeServer.js"
import * as TestSynthesizer from "../../../src/layers/speech/TestSynthesizer.js"
import { batch, get, postJson } from "../../support/http.js"
import { eventually } from "../../support/registry.js"
import { countedServerLayer, openEvents } from "../../support/sse.js"

// Event streams that can be opened at once are served ahead of the platform (src/http/live/StreamIntercept.ts);
// they must look exactly like the platform's, and every other request must still reach the platform.

const HEADERS = ["content-type", "cache-control", "x-accel-buffering", "transfer-encoding"]

describe("the intercept for event streams", () => {
  it.live("serves the streams it can open at once, with the platform's headers, and leaves the rest to it", () =>
    Effect.gen(function* () {
      const server = yield* NodeServer.NodeServer
      const installed = server.streamIntercept
      if (installed === undefined) return yield* Effect.dieMessage("no intercept installed")
      const answered: Array<string> = []
      server.streamIntercept = (request, response) => {
        const done = installed(request, response)
        if (done) answered.push(`${request.method} ${request.url}`)
        return done
      }
      const id: string = (yield* postJson("/api/tasks", batch(1))).body.task_id
      const open = (url: string, headers: Record<string, string> = {}) =>
        Effect.flatMap(Scope.make(), (scope) =>
          Effect.map(Scope.extend(openEvents(url, headers), scope), (stream) => ({ stream, scope }))
        )
      const ahead = yield* open(`/api/tasks/${id}/events`)
      const platform = yield* open(`/api/tasks/${id}/events`, { "last-event-id": "0" })
      const pick = (headers: Readonly<Record<string, string>>) => HEADERS.map((name) => headers[name])
      expect(pick(ahead.stream.headers)).toEqual(pick(platform.stream.headers))
      expect(pick(ahead.stream.headers)).toEqual(["text/event-stream", "no-cache", "no", "chunked"])
      expect((yield* ahead.stream.next).event).toBe("status")
      expect((yield* platform.stream.next).event).toBe("status")
      const all = yield* open("/api/events")
      expect((yield* all.stream.next).event).toBe("stats")
      const resumed = yield* open("/api/events", { "last-event-id": "0" })
      expect(pick(all.stream.headers)).toEqual(pick(resumed.stream.headers))
      expect((yield* get("/api/tasks/00000000-0000-4000-8000-000000000000/events")).status).toBe(404)
      expect((yield* get("/api/tasks/not-a-uuid/events")).status).toBe(400)
      expect(answered).toEqual([`GET /api/tasks/${id}/events`, "GET /api/events"])
      for (const s of [ahead, platform, all, resumed]) yield* Scope.close(s.scope, Exit.void)
    }).pipe(Effect.provide(countedServerLayer({}, TestSynthesizer.layer({ delay: "1 hour" }))))
  )
})

describe("a stream served ahead of the platform", () => {
  const id = TaskId.make("3f0c2a9e-1b7d-4c55-9d0e-2a6b8f1c4d3e")
  const serve = (task: (typeof LiveFeeds.Service)["task"], url = `/api/tasks/${id}/events`) => {
    const request = new Http.IncomingMessage(new Socket())
    request.method = "GET"
    request.url = url
    const response = new Http.ServerResponse(request)
    const live = { task, all: Effect.die("not used") }
    return { answered: answerStream(live, Runtime.defaultRuntime)(request, response), response }
  }

  it.live("is cut when its frames are destroyed before their end (a reader too far behind)", () =>
    Effect.gen(function* () {
      const frames = new Readable({ objectMode: true, read() {} })
      const { answered, response } = serve(() => Effect.succeed(Option.some(frames)))
      expect(answered).toBe(true)
      expect(response.statusCode).toBe(200)
      frames.destroy()
      expect(
        yield* eventually(
          Effect.sync(() => response.destroyed),
          (destroyed) => destroyed
        )
      ).toBe(true)
    })
  )

  it.live("ends with its frames", () =>
    Effect.gen(function* () {
      const frames = new Readable({ objectMode: true, read() {} })
      const { response } = serve(() => Effect.succeed(Option.some(frames)))
      frames.push(null)
      expect(
        yield* eventually(
          Effect.sync(() => response.writableEnded),
          (ended) => ended
        )
      ).toBe(true)
      expect(response.destroyed).toBe(false)
    })
  )

  it.live("is left to the platform when it would not be a 200, or cannot be opened at once", () =>
    Effect.gen(function* () {
      expect(serve(() => Effect.succeed(Option.none())).answered).toBe(false)
      expect(serve(() => Effect.fail(new TaskNotFound({ taskId: id }))).answered).toBe(false)
      expect(serve(() => Effect.die("not used"), "/api/tasks/not-a-uuid/events").answered).toBe(false)
      expect(serve(() => Effect.die("not used"), `/api/tasks/${id}/events?x=1`).answered).toBe(false)
      let released = false
      const waits = () =>
        Effect.zipRight(
          Effect.addFinalizer(() => Effect.sync(() => (released = true))),
          Effect.never
        )
      expect(serve(waits).answered).toBe(false)
      expect(
        yield* eventually(
          Effect.sync(() => released),
          (done) => done
        )
      ).toBe(true)
    })
  )
})
