import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Stream, TestClock } from "effect"
import { RegistryUnavailable } from "../../../src/domain/Errors.js"
import { HttpAppLive } from "../../../src/http/HttpApp.js"
import * as NodeServer from "../../../src/http/transport/NodeServer.js"
import * as TestSynthesizer from "../../../src/layers/speech/TestSynthesizer.js"
import { AudioStore } from "../../../src/services/AudioStore.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import { decodeWav, durationSeconds } from "../../../src/domain/Wav.js"
import { batch, del, get, getBytes, pollUntil, postJson, serverLayer, tempAudioDir } from "../../support/http.js"
import { logCapture } from "../../support/logs.js"

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

describe("HTTP: cancel", () => {
  it.effect("cancels a running task with 200, then answers 409; 404 for an unknown id, 400 for a bad one", () =>
    Effect.gen(function* () {
      const task = yield* postJson("/api/tasks", batch(3))
      const id = task.body.task_id
      yield* pollUntil(id, "PROCESSING")
      const cancelled = yield* del(`/api/tasks/${id}`)
      expect(cancelled.status).toBe(200)
      expect(cancelled.body).toMatchObject({ task_id: id, status: "CANCELLED", error: "Cancelled by request" })
      expect(cancelled.body.started_at).toMatch(ISO)
      expect(cancelled.body.completed_at).toMatch(ISO)
      const again = yield* del(`/api/tasks/${id}`)
      expect(again.status).toBe(409)
      expect(again.body).toMatchObject({ error: "TaskAlreadyFinished", task_id: id, status: "CANCELLED" })
      expect((yield* del("/api/tasks/00000000-0000-4000-8000-000000000000")).status).toBe(404)
      expect((yield* del("/api/tasks/123")).status).toBe(400)
    }).pipe(Effect.provide(serverLayer({}, TestSynthesizer.layer({ delay: "1 hour" }))))
  )
})

describe("HTTP: expiry (TestClock)", () => {
  it.effect(
    "answers 200 for a finished task, then 410 with its tombstone once past the threshold and a submit ran",
    () =>
      Effect.gen(function* () {
        const task = yield* postJson("/api/tasks", batch(1))
        const id = task.body.task_id
        const done = yield* pollUntil(id, "COMPLETED")
        yield* TestClock.adjust("60 seconds")
        expect((yield* get(`/api/tasks/${id}`)).status).toBe(200)
        yield* TestClock.adjust("1 second")
        yield* postJson("/api/tasks", batch(1))
        const gone = yield* get(`/api/tasks/${id}`)
        expect(gone.status).toBe(410)
        expect(gone.body).toEqual({
          error: "TaskExpired",
          message: `Task ${id} finished as COMPLETED and its record has expired`,
          task_id: id,
          status: "COMPLETED",
          completed_at: done.body.completed_at,
          evicted_at: "1970-01-01T00:01:01.000Z"
        })
        expect((yield* del(`/api/tasks/${id}`)).status).toBe(410)
        // Cleanup removes records, not audio.
        expect((yield* get(done.body.completed_segments[0].audio_url)).status).toBe(200)
      }).pipe(Effect.provide(serverLayer({ TASK_CLEANUP_THRESHOLD: "60" })))
  )

  it.effect(
    "answers 410 TaskNoLongerHeld with the creation time once the tombstone is gone too; 404 for any other id",
    () =>
      Effect.gen(function* () {
        yield* TestClock.adjust("3 seconds")
        const task = yield* postJson("/api/tasks", batch(1))
        const id = task.body.task_id
        yield* pollUntil(id, "COMPLETED")
        yield* TestClock.adjust("61 seconds")
        yield* postJson("/api/tasks", batch(1))
        const noLongerHeld = {
          error: "TaskNoLongerHeld",
          message:
            `Task ${id} was created at 1970-01-01T00:00:03.000Z by this service, and its record is no longer held: ` +
            "it finished and was cleaned up, or the service restarted",
          task_id: id,
          created_at: "1970-01-01T00:00:03.000Z"
        }
        expect(task.body.created_at).toBe(noLongerHeld.created_at)
        expect(yield* get(`/api/tasks/${id}`)).toMatchObject({ status: 410, body: noLongerHeld })
        expect(yield* del(`/api/tasks/${id}`)).toMatchObject({ status: 410, body: noLongerHeld })
        for (const unknown of ["00000000-0000-4000-8000-000000000000", crypto.randomUUID()]) {
          const reply = yield* get(`/api/tasks/${unknown}`)
          expect(reply).toMatchObject({ status: 404, body: { error: "TaskNotFound", task_id: unknown } })
        }
      }).pipe(Effect.provide(serverLayer({ TASK_CLEANUP_THRESHOLD: "60", TASK_TOMBSTONES: "0" })))
  )

  it.effect("answers 410 after a restart over the same AUDIO_DIR for ids issued before it, 404 elsewhere", () => {
    const dir = tempAudioDir()
    return Effect.gen(function* () {
      yield* TestClock.adjust("3 seconds")
      const before = yield* postJson("/api/tasks", batch(1)).pipe(Effect.provide(serverLayer({ AUDIO_DIR: dir })))
      const id = before.body.task_id
      const restarted = yield* get(`/api/tasks/${id}`).pipe(Effect.provide(serverLayer({ AUDIO_DIR: dir })))
      expect(restarted).toMatchObject({
        status: 410,
        body: { error: "TaskNoLongerHeld", task_id: id, created_at: before.body.created_at }
      })
      // A server with another key (another AUDIO_DIR): wrong once in 2^26 runs, the odds of a 26-bit tag.
      const elsewhere = yield* get(`/api/tasks/${id}`).pipe(Effect.provide(serverLayer({ AUDIO_DIR: tempAudioDir() })))
      expect(elsewhere).toMatchObject({ status: 404, body: { error: "TaskNotFound" } })
    })
  })

  it.effect("answers 410 once the sweep fiber has run in an otherwise idle server", () =>
    Effect.gen(function* () {
      const task = yield* postJson("/api/tasks", batch(1))
      yield* pollUntil(task.body.task_id, "COMPLETED")
      yield* TestClock.adjust("90 seconds")
      const health = yield* get("/api/health")
      expect(health.body.tasks).toEqual({ pending: 0, processing: 0, finished: 0, tombstones: 1 })
      expect((yield* get(`/api/tasks/${task.body.task_id}`)).status).toBe(410)
    }).pipe(Effect.provide(serverLayer({ TASK_CLEANUP_THRESHOLD: "60", TASK_CLEANUP_INTERVAL: "90" })))
  )
})

describe("HTTP: start-up", () => {
  it.effect("refuses TASK_CONCURRENCY=0 with the in-memory registry, naming the variable: nothing would run", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(Effect.scoped(Layer.build(serverLayer({ TASK_CONCURRENCY: "0" }))))
      expect(String(error)).toContain("TASK_CONCURRENCY must be 1 or more")
    })
  )
})

describe("HTTP: audio retention (TestClock)", () => {
  it.effect("a task evicted and past AUDIO_RETENTION answers 410 for its status and a clean 404 for its audio", () =>
    Effect.gen(function* () {
      const task = yield* postJson("/api/tasks", batch(2))
      const done = yield* pollUntil(task.body.task_id, "COMPLETED")
      const health = yield* get("/api/health")
      expect(health.body.audio.tasks).toBe(1)
      expect(health.body.audio.bytes).toBeGreaterThan(0)
      // Retention is applied every minute: past 120 s, at the next application.
      yield* TestClock.adjust("3 minutes")
      expect((yield* get(`/api/tasks/${task.body.task_id}`)).status).toBe(410)
      const audio = yield* get(done.body.completed_segments[0].audio_url)
      expect(audio.status).toBe(404)
      expect(audio.body).toMatchObject({ error: "AudioNotFound", task_id: task.body.task_id, segment_id: "s1" })
      expect((yield* get("/api/health")).body.audio).toEqual({ bytes: 0, tasks: 0 })
    }).pipe(Effect.provide(serverLayer({ TASK_CLEANUP_THRESHOLD: "60", AUDIO_RETENTION: "120" })))
  )
})

describe("HTTP: audio", () => {
  it.live("serves each segment as audio/wav whose length matches the reported duration", () =>
    Effect.gen(function* () {
      const task = yield* postJson("/api/tasks", { segments: [{ segment_id: "intro", text: "Hello there." }] })
      const done = yield* pollUntil(task.body.task_id, "COMPLETED")
      const [segment] = done.body.completed_segments
      const audio = yield* getBytes(segment.audio_url)
      expect(audio.status).toBe(200)
      expect(audio.headers["content-type"]).toBe("audio/wav")
      const wav = decodeWav(audio.bytes)
      expect(wav?.sampleRate).toBe(TestSynthesizer.TEST_SAMPLE_RATE)
      // The reported duration is the length of the audio in the file itself.
      expect(wav && durationSeconds(wav)).toBeCloseTo(segment.duration, 9)
      expect(segment.duration).toBeGreaterThan(0)
    }).pipe(Effect.provide(serverLayer()))
  )

  it.live("answers 404 for a segment, task or file name that does not exist", () =>
    Effect.gen(function* () {
      const task = yield* postJson("/api/tasks", batch(1))
      const id = task.body.task_id
      yield* pollUntil(id, "COMPLETED")
      for (const url of [
        `/audio/${id}/nope.wav`,
        `/audio/${id}/s1.mp3`,
        "/audio/not-a-uuid/s1.wav",
        `/audio/${id}/..%2F..%2Fx.wav`,
        // The task-id key lives in AUDIO_DIR; only `{uuid}/{segment}.wav` files are ever served from there.
        `/audio/${id}/..%2F.task-id-secret`,
        `/audio/${id}/..%2F.task-id-secret.wav`
      ]) {
        const reply = yield* get(url)
        expect(reply.status).toBe(404)
        expect(reply.body.error).toBe("AudioNotFound")
      }
    }).pipe(Effect.provide(serverLayer()))
  )
})

/** The HTTP app over a registry double, with the test engine and no audio store. */
const appWith = (registry: TaskRegistry["Type"]) =>
  HttpAppLive.pipe(
    Layer.provide(
      Layer.mergeAll(
        Layer.succeed(TaskRegistry, registry),
        TestSynthesizer.layer(),
        Layer.succeed(AudioStore, {
          write: () => Effect.die("not used"),
          locate: () => Effect.die("not used"),
          usage: Effect.succeed({ bytes: 0, tasks: 0 }),
          holdings: Effect.succeed([]),
          remove: () => Effect.die("not used"),
          scan: Effect.succeed([])
        })
      )
    ),
    Layer.provideMerge(NodeServer.layerTest)
  )

describe("HTTP: unexpected errors", () => {
  it.live("answers 500 with a generic message, logs the cause, and keeps serving", () => {
    const { layer: logs, lines } = logCapture()
    const broken = TaskRegistry.of({
      submit: () => Effect.die("not used"),
      get: () => Effect.die(new Error("the disk caught fire")),
      list: () => Effect.succeed([]),
      cancel: () => Effect.die("not used"),
      watch: () => Stream.die("not used"),
      events: Stream.die("not used"),
      eventsAfter: () => Stream.die("not used"),
      sweep: Effect.succeed(0),
      stats: Effect.succeed({ pending: 0, processing: 0, finished: 0, tombstones: 0, oldestFinishedAt: Option.none() })
    })
    return Effect.gen(function* () {
      const reply = yield* get("/api/tasks/00000000-0000-4000-8000-000000000000")
      expect(reply.status).toBe(500)
      expect(reply.body).toEqual({
        error: "InternalError",
        message: "An unexpected error occurred; it has been logged"
      })
      const logged = lines.find((l) => l.level === "ERROR")
      expect(logged?.message).toBe("Unexpected error while handling a request")
      expect(logged?.cause).toContain("the disk caught fire")
      expect((yield* get("/api/health")).status).toBe(200)
    }).pipe(Effect.provide(appWith(broken)), Effect.provide(logs))
  })

  it.live("answers 503 with Retry-After from every endpoint when the task store cannot be reached", () => {
    const down = new RegistryUnavailable({ message: "The task store at redis://127.0.0.1:1 cannot be reached" })
    const unreachable = TaskRegistry.of({
      submit: () => Effect.fail(down),
      get: () => Effect.fail(down),
      list: () => Effect.fail(down),
      cancel: () => Effect.fail(down),
      watch: () => Stream.fail(down),
      events: Stream.fail(down),
      eventsAfter: () => Stream.fail(down),
      sweep: Effect.fail(down),
      stats: Effect.fail(down)
    })
    const id = "00000000-0000-4000-8000-000000000000"
    return Effect.gen(function* () {
      for (const reply of [
        yield* postJson("/api/tasks", batch(1)),
        yield* get(`/api/tasks/${id}`),
        yield* get("/api/tasks"),
        yield* del(`/api/tasks/${id}`),
        yield* get("/api/health")
      ]) {
        expect(reply.status).toBe(503)
        expect(reply.headers["retry-after"]).toBe("5")
        expect(reply.body).toEqual({ error: "RegistryUnavailable", message: down.message })
      }
    }).pipe(Effect.provide(appWith(unreachable)))
  })
})
