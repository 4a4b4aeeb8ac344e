import autocannon from "autocannon"
import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
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
  /** Server CPU time (user + system) per request, in µs; NaN where /proc cannot tell. */
  readonly cpu: number
}

/**
 * CPU time a process has used, in clock ticks of 10 ms (USER_HZ on Linux), from /proc; NaN elsewhere. Requests per
 * second depend on how the shared cores are divided between server, load generator and neighbours; CPU time per
 * request much less so, which makes it the steadier figure for comparing versions.
 */
const cpuTicks = (pid: number | undefined): number => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return Number.NaN
  }
}

/** A bounded load on one URL of 127.0.0.1: 10 connections for `seconds`, served by the process `server`. */
const load = async (url: string, seconds: number, server?: ChildProcess): Promise<Load> => {
  const before = cpuTicks(server?.pid)
  const result = await autocannon({ url, connections: 10, duration: seconds })
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx, ${result.errors} errors`)
  const cpu = ((cpuTicks(server?.pid) - before) * 10_000) / result.requests.total
  // autocannon records whole milliseconds: the mean has decimals, the percentiles do not.
  return { rps: result.requests.average, mean: result.latency.average, p99: result.latency.p99, cpu }
}

interface Target {
  readonly name: string
  readonly base: string
  readonly path: string
  readonly server: ChildProcess
  readonly runs: Array<Load>
}

/** Starts `main` (a built server) on a free port and completes a 50-segment task on it to poll. */
const startPolled = async (name: string, main: string, env: Record<string, string> = {}) => {
  const server = await start((port) => [main, String(port)], {
    AUDIO_DIR: mkdtempSync(join(tmpdir(), "storyflow-bench-")),
    ...env
  })
  const task = await submit(server.base, 50, (i) => `Segment ${i}.`)
  await waitFor(server.base, task.task_id, "COMPLETED")
  const target: Target = { name, base: server.base, path: `/api/tasks/${task.task_id}`, server: server.child, runs: [] }
  return { child: server.child, target }
}

export const httpPolling = async (mode: Mode) => {
  const seconds = mode.full ? 10 : 3
  const children: Array<ChildProcess> = []
  try {
    const ours = await startPolled("storyflow-tasks", "dist/main.js")
    children.push(ours.child)
    // The same build with HTTP_TRACE_POLLING=true: every poll through the platform, with a span, as before.
    const traced = await startPolled("storyflow-tasks, HTTP_TRACE_POLLING=true", "dist/main.js", {
      HTTP_TRACE_POLLING: "true"
    })
    children.push(traced.child)
    // `--against=<main.js of another build>[,<another>...]`: those builds too, side by side (before and after).
    const against: Array<Target> = []
    for (const main of mode.against ?? []) {
      const other = await startPolled(main, main)
      children.push(other.child)
      against.push(other.target)
    }

    const body = Buffer.from(await (await fetch(ours.target.base + ours.target.path)).arrayBuffer())
    const bodyFile = join(mkdtempSync(join(tmpdir(), "storyflow-floor-")), "status.json")
    writeFileSync(bodyFile, body)
    const taskId = ours.target.path.slice("/api/tasks/".length)
    const floorServer = await start((port) => ["bench/floor-server.mjs", String(port), taskId, bodyFile])
    children.push(floorServer.child)
    const floor: Target = {
      name: "bare node:http, same bytes (floor)",
      base: floorServer.base,
      path: ours.target.path,
      server: floorServer.child,
      runs: []
    }

    // Side by side, alternating, so that all see the same machine load.
    const targets = [ours.target, traced.target, ...against, floor]
    for (const t of targets) await load(t.base + t.path, 1) // warm up
    for (let r = 0; r < mode.repetitions; r++) {
      for (const t of targets) t.runs.push(await load(t.base + t.path, seconds, t.server))
    }
    const summarize = (runs: ReadonlyArray<Load>) => ({
      rps: median(runs.map((r) => r.rps)),
      mean: median(runs.map((r) => r.mean)),
      p99: median(runs.map((r) => r.p99)),
      cpu: median(runs.map((r) => r.cpu))
    })
    const f = summarize(floor.runs)
    const o = summarize(ours.target.runs)

    table(
      `4. Status polling over HTTP: GET /api/tasks/{id} of a 50-segment task (${body.length} bytes), 10 connections, ${seconds} s runs`,
      ["server", "requests/s", "vs floor", "mean ms", "p99 ms", "server CPU µs/request"],
      targets.map((t) => {
        const s = summarize(t.runs)
        return [
          t.name,
          Math.round(s.rps).toLocaleString("en"),
          ratio(s.rps, f.rps),
          fixed(s.mean),
          fixed(s.p99, 0),
          fixed(s.cpu, 1)
        ]
      })
    )

    // The same polling while the real engine narrates a 200-segment batch in its worker thread.
    const chapter =
      "The fox ran through the quiet forest, past the old oak tree and over the little stream, until night fell. "
    // About 0.3 s of engine time per segment: the batch outlasts the load run by far, and is cancelled after it.
    const { base, path } = ours.target
    const big = await submit(base, 200, (i) => `Chapter ${i}. ${chapter.repeat(5)}`)
    await waitFor(base, big.task_id, "PROCESSING")
    const busy = await load(base + path, seconds)
    const after = await json(`${base}/api/tasks/${big.task_id}`)
    const busyValid = after.status === "PROCESSING"
    await fetch(`${base}/api/tasks/${big.task_id}`, { method: "DELETE" })

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
    for (const child of children) await stop(child)
  }
}
