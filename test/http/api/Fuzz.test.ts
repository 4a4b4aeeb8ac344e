import { HttpServer } from "@effect/platform"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer, ManagedRuntime, Schema } from "effect"
import { Agent } from "node:http"
import { MAX_BODY_BYTES } from "../../../src/http/api/Body.js"
import * as NodeServer from "../../../src/http/transport/NodeServer.js"
import { servicesWith } from "../../../src/App.js"
import { HttpAppLive } from "../../../src/http/HttpApp.js"
import { HealthJson, TaskStatusJson } from "../../../src/http/api/Wire.js"
import { SynthesisError, Synthesizer } from "../../../src/services/Synthesizer.js"
import {
  anyJson,
  deeplyNested,
  encode,
  encoding,
  largerThan,
  mutate,
  mutation,
  validBody
} from "../../support/fuzzBodies.js"
import type { NestedAt } from "../../support/fuzzBodies.js"
import type { Known } from "../../support/fuzzRequests.js"
import {
  expectWellFormed,
  headers,
  idChoice,
  idText,
  listQuery,
  pathChoice,
  pathText
} from "../../support/fuzzRequests.js"
import { tempAudioDir } from "../../support/http.js"
import type { RawReply, RawRequest } from "../../support/rawHttp.js"
import { sendAndCut, sendRaw } from "../../support/rawHttp.js"
import { withEnv } from "../../support/registry.js"

// Property-based requests against the real app on a real socket of 127.0.0.1: every answer must be a 2xx or a 4xx
// with a JSON body (an audio file aside), none may hang, and the server stays healthy throughout. One server serves
// every property, so that what one leaves behind (tasks, connections, fibers) is there for the next.
//
// Bounded: about 500 requests in all (more while shrinking a counterexample), each given REQUEST_TIMEOUT_MS, each
// property PROPERTY_TIME_LIMIT_MS. The seed is fixed, so a run is repeatable; fast-check prints the seed and path of
// a failure to replay it. To fuzz for longer: FUZZ_SEED=<n> FUZZ_SCALE=<runs multiplier> npx vitest run test/http/Fuzz
// (with FUZZ_SCALE=10, about a minute).

const SEED = Number(process.env.FUZZ_SEED ?? 20261127)
const SCALE = Number(process.env.FUZZ_SCALE ?? 1)
const REQUEST_TIMEOUT_MS = 5_000
/** A property that has not finished its runs by then stops there and passes on what it ran (a few s is usual). */
const PROPERTY_TIME_LIMIT_MS = 10_000 * SCALE
/** Room for a property's time limit, then for shrinking a counterexample, a request timeout per step. */
const TEST_TIMEOUT_MS = PROPERTY_TIME_LIMIT_MS + 30_000

const runs = <Ts>(n: number): fc.Parameters<Ts> => ({
  numRuns: Math.max(1, Math.round(n * SCALE)),
  seed: SEED,
  interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS
})

/**
 * Instant speech of a few samples whatever the text, so that thousands of fuzzed characters do not become
 * megabytes of WAV; `[fail]` fails a segment and `[hold]` never finishes, so that every status is reachable.
 */
const fuzzSynthesizer = Layer.succeed(
  Synthesizer,
  Synthesizer.of({
    voices: ["en-gb", "en-us"],
    defaultVoice: "en-us",
    synthesize: (text) =>
      text.includes("[hold]")
        ? Effect.never
        : text.includes("[fail]")
          ? Effect.fail(new SynthesisError({ message: "Could not speak" }))
          : Effect.succeed({ samples: new Int16Array(8), sampleRate: 8000 })
  })
)

const server = ManagedRuntime.make(
  HttpAppLive.pipe(
    Layer.provide(
      withEnv(servicesWith(fuzzSynthesizer), {
        AUDIO_DIR: tempAudioDir(),
        TASK_CLEANUP_INTERVAL: "0",
        // Far above what the fuzzing submits, so that a 503 can only mean a bug.
        TASK_MAX_PENDING: "100000",
        // One worker is held forever by a `[hold]` task; the other runs the rest.
        TASK_CONCURRENCY: "2"
      })
    ),
    // The node server of production, so that polls of known tasks take the same path as there.
    Layer.provideMerge(NodeServer.layer({ host: "127.0.0.1", port: 0 }))
  )
)

let port = 0
const known: Known = { taskIds: [], audioPaths: [] }
const utf8 = new TextEncoder()

/** Answers by status, printed at the end: a fuzzer that only ever hears 400 tests little. */
const tally = new Map<number, number>()

const send = async (sent: RawRequest, agent?: Agent): Promise<RawReply> => {
  const reply = await sendRaw(port, sent, { timeoutMs: REQUEST_TIMEOUT_MS, agent })
  tally.set(reply.status, (tally.get(reply.status) ?? 0) + 1)
  // Remember what the fuzzing created, so that later requests can name it.
  if (reply.status === 202 && sent.path === "/api/tasks") {
    known.taskIds.push(decodeStatus(reply).task_id)
  }
  return reply
}

const sendChecked = async (sent: RawRequest, agent?: Agent) => {
  const reply = await send(sent, agent)
  expectWellFormed(sent, reply)
  return reply
}

const json = (body: unknown) => utf8.encode(JSON.stringify(body))
const bodyOf = (reply: RawReply): unknown => JSON.parse(reply.body.toString("utf8"))
const decodeStatus = (reply: RawReply) => Schema.decodeUnknownSync(TaskStatusJson)(bodyOf(reply))
const decodeHealth = (reply: RawReply) => Schema.decodeUnknownSync(HealthJson)(bodyOf(reply))
const jsonHeaders = { "content-type": "application/json" }

const submit = (segments: ReadonlyArray<{ segment_id: string; text: string }>) =>
  send({ method: "POST", path: "/api/tasks", headers: jsonHeaders, body: json({ segments }) })

const statusOf = async (id: string) =>
  decodeStatus(await send({ method: "GET", path: `/api/tasks/${id}`, headers: {} })).status

beforeAll(async () => {
  const address = await server.runPromise(HttpServer.HttpServer.pipe(Effect.map((s) => s.address)))
  if (address._tag !== "TcpAddress") throw new Error("the server should listen on TCP")
  port = address.port
  // One task in each state, and audio files, for the generated requests to name.
  await submit([{ segment_id: "held", text: "[hold]" }])
  await submit([
    { segment_id: "s1", text: "Once." },
    { segment_id: "s2", text: "Twice." }
  ])
  await submit([{ segment_id: "bad", text: "[fail]" }])
  const [held, completed, failed] = known.taskIds
  for (let i = 0; i < 200; i++) {
    const states = await Promise.all([held!, completed!, failed!].map(statusOf))
    if (states.join() === "PROCESSING,COMPLETED,FAILED") break
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  known.audioPaths.push(`/audio/${completed}/s1.wav`, `/audio/${completed}/s2.wav`)
  await submit([{ segment_id: "later", text: "Never reached." }])
  const cancel = await send({ method: "DELETE", path: `/api/tasks/${known.taskIds.at(-1)}`, headers: {} })
  expect(cancel.status).toBe(200)
}, 30_000)

afterAll(async () => {
  const counts = [...tally].sort(([a], [b]) => a - b).map(([status, n]) => `${status}: ${n}`)
  console.log(
    `HTTP fuzz (seed ${SEED}): ${[...tally.values()].reduce((a, b) => a + b, 0)} answers; ${counts.join(", ")}`
  )
  await server.dispose()
})

// Whatever a property sent, the server must still answer its health check.
afterEach(async () => {
  const health = await send({ method: "GET", path: "/api/health", headers: {} })
  expect(health.status).toBe(200)
})

/** Methods node's parser accepts (CONNECT aside: node itself closes those connections). */
const anyMethod = fc.constantFrom(
  "GET",
  "HEAD",
  "POST",
  "DELETE",
  "PUT",
  "PATCH",
  "OPTIONS",
  "TRACE",
  "PROPFIND",
  "SEARCH"
)
const contentType = fc.oneof(
  { arbitrary: fc.constant("application/json"), weight: 4 },
  fc.constantFrom("application/json; charset=utf-8", "application/JSON", "text/plain", "text/json", ""),
  fc.constantFrom("application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/octet-stream")
)
/** Most bodies go with a length; some chunked, in pieces small enough to split a UTF-8 character or a token. */
const chunkSize = fc.option(fc.constantFrom(1, 3, 1024, 65_536), { nil: undefined, freq: 3 })
/** Chunks of one byte each for a body of megabytes would be a test of the client; a few thousand are enough. */
const chunksFor = (body: Uint8Array, size: number | undefined) =>
  size === undefined ? undefined : Math.max(size, Math.ceil(body.length / 4096))

type OrdinaryKind = "submit" | "status" | "list" | "health" | "voices" | "audio" | "cancel"
const ordinaryKind = fc.constantFrom<OrdinaryKind>("submit", "status", "list", "health", "voices", "audio", "cancel")

/** A well-formed request of each kind; `index` picks among the known tasks (or `id` names one) and audio files. */
const ordinary = (kind: OrdinaryKind, index: number, id = known.taskIds[index % known.taskIds.length]!): RawRequest => {
  switch (kind) {
    case "submit":
      return {
        method: "POST",
        path: "/api/tasks",
        headers: jsonHeaders,
        body: json({ segments: [{ segment_id: "h", text: "Hi." }] })
      }
    case "status":
      return { method: "GET", path: `/api/tasks/${id}`, headers: {} }
    case "cancel":
      return { method: "DELETE", path: `/api/tasks/${id}`, headers: {} }
    case "list":
      return { method: "GET", path: "/api/tasks?limit=5", headers: {} }
    case "audio":
      return { method: "GET", path: known.audioPaths[index % known.audioPaths.length]!, headers: {} }
    case "health":
    case "voices":
      return { method: "GET", path: `/api/${kind}`, headers: {} }
  }
}

describe("HTTP fuzz: every answer is JSON with a 2xx or a 4xx, never a 500, never a hang", () => {
  it("mutated submit bodies", { timeout: TEST_TIMEOUT_MS }, async () => {
    const arbitrary = fc.record({
      body: validBody,
      mutations: fc.array(mutation, { maxLength: 4 }),
      encoding,
      contentType,
      chunkSize
    })
    let accepted = 0
    await fc.assert(
      fc.asyncProperty(arbitrary, async (c) => {
        const value = c.mutations.reduce(mutate, c.body)
        // A huge string copied into 600 segments would be a gigabyte; a little over the limit is as good a test.
        fc.pre(!largerThan(value, MAX_BODY_BYTES + 1_048_576))
        const body = encode(value, c.encoding)
        const reply = await sendChecked({
          method: "POST",
          path: "/api/tasks",
          headers: c.contentType === "" ? {} : { "content-type": c.contentType },
          body,
          // A chunked body over the limit is the business of a property below; here it would hide everything else.
          chunkSize: body.length > MAX_BODY_BYTES ? undefined : chunksFor(body, c.chunkSize)
        })
        if (reply.status === 202) accepted++
      }),
      runs(100)
    )
    // Mutations are not all fatal: some valid bodies must have got through, or the oracle was never tested on a 202.
    expect(accepted).toBeGreaterThan(0)
  })

  it("random JSON and bytes that are not JSON", { timeout: TEST_TIMEOUT_MS }, async () => {
    const body = fc.oneof(
      anyJson.map(json),
      fc.uint8Array({ minLength: 0, maxLength: 2048 }),
      fc.string({ unit: "binary", maxLength: 200 }).map((text) => utf8.encode(text)),
      fc
        .constantFrom("{", "[", '{"segments":', "NaN", "Infinity", "{'segments': []}", "[1,]", "\ufeff{}", "\u0000")
        .map((text) => utf8.encode(text))
    )
    await fc.assert(
      fc.asyncProperty(body, contentType, chunkSize, async (bytes, type, size) => {
        await sendChecked({
          method: "POST",
          path: "/api/tasks",
          headers: type === "" ? {} : { "content-type": type },
          body: bytes,
          chunkSize: chunksFor(bytes, size)
        })
      }),
      runs(40)
    )
  })

  it("task ids: known, almost UUIDs, random UUIDs and garbage", { timeout: TEST_TIMEOUT_MS }, async () => {
    await fc.assert(
      fc.asyncProperty(idChoice, fc.constantFrom("GET", "HEAD", "DELETE"), async (id, method) => {
        await sendChecked({ method, path: `/api/tasks/${idText(id, known)}`, headers: {} })
      }),
      runs(40)
    )
  })

  it("paths under /api and /audio, with traversal attempts, by any method", { timeout: TEST_TIMEOUT_MS }, async () => {
    await fc.assert(
      fc.asyncProperty(pathChoice, anyMethod, fc.option(anyJson, { nil: undefined }), async (path, method, body) => {
        await sendChecked({
          method,
          path: pathText(path, known),
          headers: body === undefined ? {} : jsonHeaders,
          body: body === undefined ? undefined : json(body)
        })
      }),
      runs(50)
    )
  })

  it("query strings for the task list", { timeout: TEST_TIMEOUT_MS }, async () => {
    await fc.assert(
      fc.asyncProperty(listQuery, async (query) => {
        await sendChecked({ method: "GET", path: `/api/tasks?${query}`, headers: {} })
      }),
      runs(40)
    )
  })

  it("any headers on ordinary requests", { timeout: TEST_TIMEOUT_MS }, async () => {
    await fc.assert(
      fc.asyncProperty(ordinaryKind, headers, fc.nat(), async (kind, extra, index) => {
        const base = ordinary(kind, index)
        await sendChecked({ ...base, headers: { ...base.headers, ...extra } })
      }),
      runs(30)
    )
  })

  it("several requests in a row on one kept-alive connection", { timeout: TEST_TIMEOUT_MS }, async () => {
    const request = fc.oneof(
      fc.record({ method: fc.constant("POST"), path: fc.constant("/api/tasks"), body: fc.oneof(validBody, anyJson) }),
      fc.record({ method: anyMethod, path: pathChoice }),
      fc.record({ method: fc.constant("GET"), query: listQuery })
    )
    await fc.assert(
      fc.asyncProperty(fc.array(request, { minLength: 2, maxLength: 5 }), async (sequence) => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 })
        try {
          for (const r of sequence) {
            const sent: RawRequest =
              "body" in r
                ? { method: r.method, path: r.path, headers: jsonHeaders, body: json(r.body) }
                : "query" in r
                  ? { method: r.method, path: `/api/tasks?${r.query}`, headers: {} }
                  : { method: r.method, path: pathText(r.path, known), headers: {} }
            await sendChecked(sent, agent)
          }
        } finally {
          agent.destroy()
        }
      }),
      runs(12)
    )
  })

  it("requests at once about a task that is running", { timeout: TEST_TIMEOUT_MS }, async () => {
    const action = fc.record({ kind: ordinaryKind, index: fc.nat(), fresh: fc.boolean() })
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 2, maxLength: 8 }), async (actions) => {
        // Cancels, polls and submits race with the fresh task's worker, and with each other.
        const submitted = await sendChecked(ordinary("submit", 0))
        const fresh = decodeStatus(submitted).task_id
        await Promise.all(
          actions.map(({ kind, index, fresh: onFresh }) =>
            sendChecked(onFresh ? ordinary(kind, index, fresh) : ordinary(kind, index))
          )
        )
      }),
      runs(12)
    )
  })

  it("clients that go away in the middle of a request", { timeout: TEST_TIMEOUT_MS }, async () => {
    const cut = fc.record({
      kind: ordinaryKind,
      index: fc.nat(),
      // How much of the request is sent, in thousandths: from part of its head to all of it.
      share: fc.integer({ min: 0, max: 1000 }),
      waitMs: fc.integer({ min: 0, max: 10 })
    })
    await fc.assert(
      fc.asyncProperty(cut, async ({ kind, index, share, waitMs }) => {
        const sent = ordinary(kind, index)
        const size = sent.path.length + 100 + (sent.body?.length ?? 0)
        await sendAndCut(port, sent, Math.ceil((size * share) / 1000), waitMs)
        // The next client is served as if nothing had happened.
        await sendChecked({ method: "GET", path: "/api/health", headers: {} })
      }),
      runs(20)
    )
  })
})

// The properties below aim at the bugs listed in the hardening issue, and assert what the API should answer.
// Until their fixes land (another branch: body nesting and size limits, method and content-type guards), expect
// them to fail with the counterexamples fast-check prints.
describe("HTTP fuzz: the limits of the hardening issue", () => {
  it("answers deeply nested JSON with a 4xx, never a 500", { timeout: TEST_TIMEOUT_MS }, async () => {
    const where = fc.constantFrom<NestedAt>(
      "body",
      "segments",
      "segment",
      "segment_id",
      "text",
      "voice",
      "speed",
      "extra"
    )
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1_000, max: 100_000 }),
        fc.constantFrom<"array" | "object">("array", "object"),
        where,
        async (depth, kind, at) => {
          await sendChecked({
            method: "POST",
            path: "/api/tasks",
            headers: jsonHeaders,
            body: deeplyNested(depth, kind, at)
          })
        }
      ),
      runs(12)
    )
  })

  it(
    "answers 413 to a body over 2 MiB however it is sent, and reads one just under",
    { timeout: TEST_TIMEOUT_MS },
    async () => {
      const size = fc.oneof(
        fc.integer({ min: MAX_BODY_BYTES - 4_096, max: MAX_BODY_BYTES }),
        fc.integer({ min: MAX_BODY_BYTES + 1, max: MAX_BODY_BYTES + 1_048_576 })
      )
      await fc.assert(
        fc.asyncProperty(size, chunkSize, async (bytes, chunks) => {
          const frame = (text: string) => `{"segments":[{"segment_id":"s1","text":"${text}"}]}`
          const body = utf8.encode(frame("x".repeat(bytes - frame("").length)))
          const reply = await sendChecked({
            method: "POST",
            path: "/api/tasks",
            headers: jsonHeaders,
            body,
            chunkSize: chunksFor(body, chunks)
          })
          // Within the limit, the body is read: its text is too long, which is a 400 that says so.
          expect(reply.status).toBe(body.length > MAX_BODY_BYTES ? 413 : 400)
        }),
        runs(8)
      )
    }
  )

  it("answers 413 at once to a declared length over 2 MiB", { timeout: TEST_TIMEOUT_MS }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: MAX_BODY_BYTES + 1, max: 2 ** 40 }), async (declared) => {
        const reply = await sendChecked({
          method: "POST",
          path: "/api/tasks",
          headers: { ...jsonHeaders, "content-length": String(declared) },
          body: json({ segments: [] })
        })
        expect(reply.status).toBe(413)
      }),
      runs(5)
    )
  })

  /** Each route with the methods it has; `{id}` and `{audio}` stand for a known task and one of its files. */
  const routes = [
    { path: "/api/tasks", allowed: ["GET", "HEAD", "POST"] },
    { path: "/api/tasks/{id}", allowed: ["GET", "HEAD", "DELETE"] },
    { path: "/api/tasks/00000000-0000-4000-8000-000000000000", allowed: ["GET", "HEAD", "DELETE"] },
    { path: "/api/health", allowed: ["GET", "HEAD"] },
    { path: "/api/voices", allowed: ["GET", "HEAD"] },
    { path: "{audio}", allowed: ["GET", "HEAD"] }
  ]

  it("answers 405 with Allow to a method that a route does not have", { timeout: TEST_TIMEOUT_MS }, async () => {
    const other = fc.constantFrom(...routes).chain((route) =>
      fc.record({
        route: fc.constant(route),
        method: fc.constantFrom("PUT", "PATCH", "POST", "DELETE", "OPTIONS").filter((m) => !route.allowed.includes(m)),
        body: fc.option(anyJson, { nil: undefined })
      })
    )
    await fc.assert(
      fc.asyncProperty(other, async ({ route, method, body }) => {
        const sent: RawRequest = {
          method,
          path: route.path.replace("{id}", known.taskIds[0]!).replace("{audio}", known.audioPaths[0]!),
          headers: body === undefined ? {} : jsonHeaders,
          body: body === undefined ? undefined : json(body)
        }
        const reply = await send(sent)
        // OPTIONS may be answered as a CORS preflight would be; any other method that the route lacks is a 405.
        if (method === "OPTIONS" && reply.status >= 200 && reply.status < 300) return
        expectWellFormed(sent, reply)
        if (reply.status !== 405 || reply.headers["allow"] === undefined) {
          const allow = reply.headers["allow"] ?? "no Allow header"
          throw new Error(`${method} ${sent.path} answered ${reply.status} (${allow}), not 405 with Allow`)
        }
      }),
      runs(20)
    )
  })

  it("refuses a text/plain body with 415, valid JSON or not", { timeout: TEST_TIMEOUT_MS }, async () => {
    const type = fc.constantFrom("text/plain", "text/plain; charset=utf-8", "TEXT/PLAIN")
    await fc.assert(
      fc.asyncProperty(fc.oneof(validBody, anyJson), type, async (body, contentType) => {
        const sent = { method: "POST", path: "/api/tasks", headers: { "content-type": contentType }, body: json(body) }
        const reply = await sendChecked(sent)
        expect(reply.status).toBe(415)
      }),
      runs(10)
    )
  })
})

describe("HTTP fuzz: afterwards", () => {
  it("the server is healthy and still runs tasks", { timeout: TEST_TIMEOUT_MS }, async () => {
    const health = await sendChecked({ method: "GET", path: "/api/health", headers: {} })
    expect(decodeHealth(health).status).toBe("ok")
    const task = await submit([{ segment_id: "after", text: "The end." }])
    expect(task.status).toBe(202)
    const id = known.taskIds.at(-1)!
    let status = ""
    for (let i = 0; i < 200 && status !== "COMPLETED"; i++) {
      status = await statusOf(id)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(status).toBe("COMPLETED")
  })

  it("no task is left behind: all but the one held forever finish", { timeout: TEST_TIMEOUT_MS }, async () => {
    // A submit or cancel cut off by its client must not leave a record that no worker will ever run.
    let tasks = { pending: -1, processing: -1 }
    for (let i = 0; i < 500 && !(tasks.pending === 0 && tasks.processing <= 1); i++) {
      const health = await sendChecked({ method: "GET", path: "/api/health", headers: {} })
      tasks = decodeHealth(health).tasks
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(tasks).toMatchObject({ pending: 0 })
    expect(tasks.processing).toBeLessThanOrEqual(1)
  })
})
