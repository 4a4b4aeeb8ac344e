import autocannon from "autocannon"
import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../test/support/net.js"
import type { Mode } from "./support.js"
import { fixed, median, ratio, table } from "./support.js"

const root = new URL("../", import.meta.url)

/** Starts `node ...args` on a free port of 127.0.0.1 and resolves once it says it listens. */
const start = async (args: (port: number) => Array<string>, env: Record<string, string> = {}) => {
  const port = await freePort()
  const child = spawn(process.execPath, args(port), {
    cwd: root,
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "inherit"]
  })
  let output = ""
  child.stdout?.on("data", (chunk) => (output += chunk))
  for (let i = 0; i < 300 && !output.includes("Listening"); i++) await new Promise((r) => setTimeout(r, 50))
  if (!output.includes("Listening")) throw new Error(`server did not start: ${output}`)
  return { base: `http://127.0.0.1:${port}`, child }
}

const stop = async (child: ChildProcess) => {
  child.kill("SIGTERM")
  await once(child, "exit")
}

const json = async (url: string, init?: RequestInit): Promise<any> => (await fetch(url, init)).json()

const submit = (base: string, count: number, text: (i: number) => string) =>
  json(`${base}/api/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      segments: Array.from({ length: count }, (_, i) => ({ segment_id: `s${i}`, text: text(i) }))
    })
  })

const waitFor = async (base: string, id: string, status: string) => {
  for (let i = 0; i < 1200; i++) {
    const task = await json(`${base}/api/tasks/${id}`)
    if (task.status === status) return task
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`task ${id} never reached ${status}`)
}

interface Load {
  readonly rps: number
  readonly mean: number
  readonly p99: number
}

/** A bounded load on one URL of 127.0.0.1: 10 connections for `seconds`. */
const load = async (url: string, seconds: number): Promise<Load> => {
  const result = await autocannon({ url, connections: 10, duration: seconds })
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  // autocannon records whole milliseconds: the mean has decimals, the percentiles do not.
  return { rps: result.requests.average, mean: result.latency.average, p99: result.latency.p99 }
}

export const httpPolling = async (mode: Mode) => {
  const seconds = mode.full ? 10 : 3
  const ours = await start((port) => ["dist/main.js", String(port)], {
    AUDIO_DIR: mkdtempSync(join(tmpdir(), "storyflow-bench-"))
  })
  let floor: ChildProcess | undefined
  try {
    const task = await submit(ours.base, 50, (i) => `Segment ${i}.`)
    await waitFor(ours.base, task.task_id, "COMPLETED")
    const path = `/api/tasks/${task.task_id}`
    const body = Buffer.from(await (await fetch(ours.base + path)).arrayBuffer())
    const bodyFile = join(mkdtempSync(join(tmpdir(), "storyflow-floor-")), "status.json")
    writeFileSync(bodyFile, body)
    const floorServer = await start((port) => ["bench/floor-server.mjs", String(port), task.task_id, bodyFile])
    floor = floorServer.child

    // Side by side, alternating, so that both see the same machine load.
    const oursRuns: Array<Load> = []
    const floorRuns: Array<Load> = []
    await load(ours.base + path, 1) // warm up
    await load(floorServer.base + path, 1)
    for (let r = 0; r < mode.repetitions; r++) {
      oursRuns.push(await load(ours.base + path, seconds))
      floorRuns.push(await load(floorServer.base + path, seconds))
    }
    const summarize = (runs: ReadonlyArray<Load>) => ({
      rps: median(runs.map((r) => r.rps)),
      mean: median(runs.map((r) => r.mean)),
      p99: median(runs.map((r) => r.p99))
    })
    const o = summarize(oursRuns)
    const f = summarize(floorRuns)

    // The same polling while the real engine narrates a 200-segment batch in its worker thread.
    const chapter =
      "The fox ran through the quiet forest, past the old oak tree and over the little stream, until night fell. "
    // About 0.3 s of engine time per segment: the batch outlasts the load run by far, and is cancelled after it.
    const big = await submit(ours.base, 200, (i) => `Chapter ${i}. ${chapter.repeat(5)}`)
    await waitFor(ours.base, big.task_id, "PROCESSING")
    const busy = await load(ours.base + path, seconds)
    const after = await json(`${ours.base}/api/tasks/${big.task_id}`)
    const busyValid = after.status === "PROCESSING"
    await fetch(`${ours.base}/api/tasks/${big.task_id}`, { method: "DELETE" })

    table(
      `4. Status polling over HTTP: GET /api/tasks/{id} of a 50-segment task (${body.length} bytes), 10 connections, ${seconds} s runs`,
      ["server", "requests/s", "vs floor", "mean ms", "p99 ms"],
      [
        [
          "storyflow-tasks",
          Math.round(o.rps).toLocaleString("en"),
          ratio(o.rps, f.rps),
          fixed(o.mean),
          fixed(o.p99, 0)
        ],
        [
          "bare node:http, same bytes (floor)",
          Math.round(f.rps).toLocaleString("en"),
          "1.00x",
          fixed(f.mean),
          fixed(f.p99, 0)
        ]
      ]
    )
    table(
      "While a 200-segment batch is synthesized by the real engine",
      ["storyflow-tasks", "requests/s", "mean ms", "vs idle", "p99 ms", "vs idle"],
      [
        ["idle", Math.round(o.rps).toLocaleString("en"), fixed(o.mean), "1.00x", fixed(o.p99, 0), "1.00x"],
        [
          `synthesizing${busyValid ? "" : " (batch ended early: not valid)"}`,
          Math.round(busy.rps).toLocaleString("en"),
          fixed(busy.mean),
          ratio(busy.mean, o.mean),
          fixed(busy.p99, 0),
          ratio(busy.p99, Math.max(o.p99, 1))
        ]
      ]
    )
  } finally {
    await stop(ours.child)
    if (floor !== undefined) await stop(floor)
  }
}
