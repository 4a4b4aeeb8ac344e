import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { createServer, get as httpGet } from "node:http"
import { performance } from "node:perf_hooks"
import { Schema } from "effect"
import { decodeWav, durationSeconds } from "../../src/domain/Wav.js"
import { TaskStatusJson } from "../../src/http/api/Wire.js"
import { tempAudioDir } from "../support/http.js"
import { freePort, trickle } from "../support/net.js"
import { listening, START_SECONDS } from "../support/processes.js"

// End to end: the built server (`node dist/main.js`, what `npm start` runs) as its own process, with the real
// speech engine, on a free port of 127.0.0.1. test/globalSetup.ts has built it.

const root = new URL("../../", import.meta.url)
let server: ChildProcess
let base: string
let output = ""

const until = async <A>(what: string, attempt: () => Promise<A | undefined>, seconds: number): Promise<A> => {
  const deadline = Date.now() + seconds * 1000
  while (Date.now() < deadline) {
    const result = await attempt()
    if (result !== undefined) return result
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}; server output:\n${output}`)
}

/** Requests a task status; the body must match the documented TaskStatus shape exactly. */
const task = async (path: string, init?: RequestInit) => {
  const response = await fetch(base + path, init)
  return { status: response.status, body: Schema.decodeUnknownSync(TaskStatusJson)(await response.json()) }
}

const submit = (segments: ReadonlyArray<{ segment_id: string; text: string }>) =>
  task("/api/tasks", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ segments })
  })

const statusOf = async (taskId: string) => (await task(`/api/tasks/${taskId}`)).body

// dist/ is built once for every test file by test/globalSetup.ts.
beforeAll(
  async () => {
    const port = await freePort()
    base = `http://127.0.0.1:${port}`
    server = spawn(process.execPath, ["dist/main.js"], {
      cwd: root,
      env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), AUDIO_DIR: tempAudioDir() },
      stdio: ["ignore", "pipe", "pipe"]
    })
    server.stdout?.on("data", (chunk) => (output += chunk))
    server.stderr?.on("data", (chunk) => (output += chunk))
    await listening(server, () => output)
  },
  (START_SECONDS + 10) * 1000
)

afterAll(() => {
  if (server.exitCode === null) server.kill("SIGKILL")
})

describe("the server process (real engine)", () => {
  it("narrates a two-segment batch and serves WAV files whose length matches the reported duration", async () => {
    const submitted = await submit([
      { segment_id: "s1", text: "Once upon a time, there was a small fox." },
      { segment_id: "s2", text: "The end." }
    ])
    expect(submitted.status).toBe(202)
    const done = await until(
      "COMPLETED",
      async () => {
        const current = await statusOf(submitted.body.task_id)
        return current.status === "COMPLETED" ? current : undefined
      },
      30
    )
    expect(done.completed_segments).toHaveLength(2)
    for (const segment of done.completed_segments) {
      const response = await fetch(base + segment.audio_url)
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe("audio/wav")
      const wav = decodeWav(new Uint8Array(await response.arrayBuffer()))
      expect(wav?.sampleRate).toBe(22050)
      expect(wav && durationSeconds(wav)).toBeCloseTo(segment.duration, 9)
      expect(segment.duration).toBeGreaterThan(0.3)
    }
  }, 60_000)

  it("answers status requests promptly while a large batch synthesizes, then shuts down cleanly on SIGTERM", async () => {
    const sentence = "The fox ran through the quiet forest, past the old oak tree and over the little stream, "
    const segments = Array.from({ length: 20 }, (_, i) => ({ segment_id: `p${i}`, text: sentence.repeat(8) }))
    const submitted = await submit(segments)
    expect(submitted.status).toBe(202)
    const id = submitted.body.task_id
    await until("PROCESSING", async () => ((await statusOf(id)).status === "PROCESSING" ? true : undefined), 30)

    const latencies: Array<number> = []
    for (let i = 0; i < 40; i++) {
      const start = performance.now()
      const reply = await task(`/api/tasks/${id}`)
      latencies.push(performance.now() - start)
      expect(reply.status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const last = await statusOf(id)
    // The measurement only means something if synthesis was under way the whole time.
    expect(last.status).toBe("PROCESSING")
    expect(last.progress.current).toBeLessThan(20)
    const worst = Math.max(...latencies)
    console.log(`status latency while synthesizing: worst ${worst.toFixed(1)} ms over ${latencies.length} requests`)
    // One segment takes the engine seconds; were it on the event loop, a poll would wait that long.
    expect(worst).toBeLessThan(250)

    server.kill("SIGTERM")
    const [code, signal] = await Promise.race([
      once(server, "exit"),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no exit; output:\n${output}`)), 15_000))
    ])
    expect({ code, signal }).toEqual({ code: 0, signal: null })
    expect(output).not.toMatch(/ERROR|Error:/)
  }, 90_000)
})

// Start-up, timeouts and shutdown, each on a server process of its own (built by test/globalSetup.ts).

const spawnServer = (port: number, env: Record<string, string> = {}) => {
  const child = spawn(process.execPath, ["dist/main.js"], {
    cwd: root,
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), AUDIO_DIR: tempAudioDir(), ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const log = { text: "" }
  child.stdout?.on("data", (chunk) => (log.text += chunk))
  child.stderr?.on("data", (chunk) => (log.text += chunk))
  const exited = once(child, "exit")
  return { child, log, exited }
}

type Probe =
  | { readonly kind: "refused" }
  | { readonly kind: "unanswered" }
  | { readonly kind: "answered"; readonly status: number; readonly retryAfter?: string; readonly body: string }

/** GET /api/health on a fresh connection; "unanswered" if connected but no response came within `seconds`. */
const probe = (port: number, seconds: number) =>
  new Promise<Probe>((resolve) => {
    const request = httpGet({ host: "127.0.0.1", port, path: "/api/health", agent: false }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => (body += chunk))
      response.on("end", () => {
        clearTimeout(timer)
        const retryAfter = response.headers["retry-after"]
        resolve({ kind: "answered", status: response.statusCode ?? 0, body, ...(retryAfter ? { retryAfter } : {}) })
      })
    })
    const timer = setTimeout(() => {
      request.destroy()
      resolve({ kind: "unanswered" })
    }, seconds * 1000)
    request.on("error", () => {
      clearTimeout(timer)
      resolve({ kind: "refused" })
    })
  })

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

describe("the server process: start-up, slow clients, shutdown", () => {
  it(
    "answers every request from the moment its port opens: 200, or 503 with Retry-After until ready",
    async () => {
      const port = await freePort()
      const { child, log } = spawnServer(port)
      const probes: Array<Promise<Probe>> = []
      try {
        // A probe every 5 ms from the spawn on; 20 more once the server says it is ready.
        const deadline = Date.now() + 30_000
        let afterReady = 0
        while (afterReady < 20 && Date.now() < deadline && child.exitCode === null) {
          probes.push(probe(port, 3))
          if (log.text.includes("Listening on")) afterReady++
          await sleep(5)
        }
        const results = await Promise.all(probes)
        const answered = results.filter((r) => r.kind === "answered")
        expect(results.filter((r) => r.kind === "unanswered")).toHaveLength(0)
        expect(answered.length).toBeGreaterThanOrEqual(20)
        for (const reply of answered) {
          if (reply.status === 503) {
            expect(reply.retryAfter).toBe("1")
            expect(JSON.parse(reply.body)).toMatchObject({ error: "ServiceUnavailable" })
          } else {
            expect(reply.status).toBe(200)
          }
        }
      } finally {
        child.kill("SIGKILL")
      }
    },
    (START_SECONDS + 60) * 1000
  )

  it(
    "cuts off a client that trickles its headers or its body, and keeps answering others meanwhile",
    async () => {
      const port = await freePort()
      const { child, log } = spawnServer(port, { HTTP_HEADERS_TIMEOUT: "0.5", HTTP_REQUEST_TIMEOUT: "1" })
      try {
        await listening(child, () => log.text)
        const headers = trickle(port, "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n", "X-Slow: 1\r\n")
        const body = trickle(
          port,
          "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
          " "
        )
        await sleep(200)
        const started = performance.now()
        expect(await probe(port, 1)).toMatchObject({ kind: "answered", status: 200 })
        expect(performance.now() - started).toBeLessThan(400)
        const [cutHeaders, cutBody] = await Promise.all([
          Promise.race([headers.closed, sleep(5000).then(() => undefined)]),
          Promise.race([body.closed, sleep(5000).then(() => undefined)])
        ])
        headers.stop()
        body.stop()
        // Cut off within the timeout (checked every quarter of it), with a 408 or by closing the connection.
        expect(cutHeaders, "headers trickled for 5 s without being cut off").toBeDefined()
        expect(cutBody, "a body trickled for 5 s without being cut off").toBeDefined()
        expect(cutHeaders?.afterMs).toBeLessThan(1500)
        expect(cutBody?.afterMs).toBeLessThan(2000)
        expect(cutHeaders?.received).toMatch(/^(HTTP\/1\.1 408 |$)/)
        expect(cutBody?.received).toMatch(/^(HTTP\/1\.1 408 |$)/)
      } finally {
        child.kill("SIGKILL")
      }
    },
    (START_SECONDS + 60) * 1000
  )

  it(
    "exits 0 within 10 s of SIGTERM while clients hold half-sent requests and idle connections",
    async () => {
      const port = await freePort()
      const { child, log, exited } = spawnServer(port, { HTTP_SHUTDOWN_GRACE: "1" })
      try {
        await listening(child, () => log.text)
        const headers = trickle(port, "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n", "X-Slow: 1\r\n")
        const body = trickle(
          port,
          "POST /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
          " "
        )
        const idle = trickle(port, "GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await Promise.all([headers.connected, body.connected, idle.connected])
        await sleep(300)
        expect(idle.received()).toMatch(/^HTTP\/1\.1 200 /)

        const started = performance.now()
        child.kill("SIGTERM")
        const exit = await Promise.race([exited, sleep(10_000).then(() => undefined)])
        expect(exit, `no exit within 10 s; output:\n${log.text}`).toEqual([0, null])
        console.log(`exited ${(performance.now() - started).toFixed(0)} ms after SIGTERM with slow clients connected`)
        for (const client of [headers, body, idle]) await client.closed
      } finally {
        child.kill("SIGKILL")
      }
    },
    (START_SECONDS + 60) * 1000
  )

  it("says in one line, without a stack trace, that the port is in use, and exits 1", async () => {
    const port = await freePort()
    const holder = createServer().listen(port, "127.0.0.1")
    await once(holder, "listening")
    const { child, log, exited } = spawnServer(port)
    try {
      const exit = await Promise.race([exited, sleep(60_000).then(() => undefined)])
      expect(exit, `no exit; output:\n${log.text}`).toEqual([1, null])
      expect(log.text).toContain(
        `Cannot listen on 127.0.0.1:${port}: the port is in use; stop what listens there or set PORT`
      )
      expect(log.text).not.toMatch(/^\s+at /m)
      expect(log.text).not.toContain("ServeError")
    } finally {
      child.kill("SIGKILL")
      holder.close()
    }
  }, 90_000)
})
