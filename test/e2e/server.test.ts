import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { once } from "node:events"
import { performance } from "node:perf_hooks"
import { Schema } from "effect"
import { decodeWav, durationSeconds } from "../../src/domain/Wav.js"
import { TaskStatusJson } from "../../src/http/Wire.js"
import { tempAudioDir } from "../support/http.js"
import { freePort } from "../support/net.js"

// End to end: the built server (`node dist/main.js`, what `npm start` runs) as its own process, with the real
// speech engine, on a free port of 127.0.0.1.

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

beforeAll(async () => {
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], { cwd: root })
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  server = spawn(process.execPath, ["dist/main.js"], {
    cwd: root,
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), AUDIO_DIR: tempAudioDir() },
    stdio: ["ignore", "pipe", "pipe"]
  })
  server.stdout?.on("data", (chunk) => (output += chunk))
  server.stderr?.on("data", (chunk) => (output += chunk))
  await until("the server to listen", async () => (output.includes("Listening on") ? true : undefined), 30)
}, 90_000)

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
