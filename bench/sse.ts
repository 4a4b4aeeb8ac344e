import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import * as Http from "node:http"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../test/support/net.js"
import type { Mode } from "./support.js"
import { fixed, table } from "./support.js"

// Live progress: 1,000 SSE clients on 127.0.0.1 watching one task of 200 segments, through the task's own stream
// (GET /api/tasks/{id}/events) and through GET /api/events; side by side in the same run, the same task with no
// client at all, so that the ratio of the two run times is what the clients cost the work. The server runs in a
// process of its own (./sse-server.ts) and says when it published each change; the clients, here, note when each
// arrived. Both read the same machine clock (performance.timeOrigin + now()), so the difference is the delay.

const root = new URL("../", import.meta.url)
const now = () => performance.timeOrigin + performance.now()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Sends `message` to the server process and resolves with the value of `key` in its answer (within 60 s). */
export const ask = <A>(child: ChildProcess, message: string, key: string): Promise<A> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${message}`)), 60_000)
    const listener = (answer: unknown) => {
      if (typeof answer === "object" && answer !== null && key in answer) {
        clearTimeout(timer)
        child.off("message", listener)
        resolve((answer as Record<string, A>)[key]!)
      }
    }
    child.on("message", listener)
    if (message !== "") child.send(message)
  })

interface Watcher {
  /** Arrival time of each version of the task, as the client parsed it. */
  readonly arrivals: Map<number, number>
  readonly connected: Promise<void>
  readonly ended: Promise<void>
  readonly leave: () => void
}

const VERSION = Buffer.from('"version":')
const FRAME_END = Buffer.from("\n\n")

/** The version in the `data` of the frame `bytes[start, end)` if it is task `id`'s status, else undefined. */
const versionIn = (bytes: Buffer, start: number, end: number, id: Buffer): number | undefined => {
  // Both streams' frames carry a TaskStatus, whose `task_id` comes first and whose `version` comes last: read those
  // two places, not the whole frame (up to 20 KB at the end of a 200-segment task).
  if (bytes.subarray(start, end).indexOf(id) === -1) return undefined
  const at = bytes.lastIndexOf(VERSION, end)
  if (at < start) return undefined
  let version = 0
  for (let i = at + VERSION.length; i < end && bytes[i]! >= 48 && bytes[i]! <= 57; i++)
    version = version * 10 + bytes[i]! - 48
  return version
}

/**
 * One EventSource-like client of `url`: records when each version of task `id` arrived (from the `data` of an
 * `event: status`, on either stream); `connected` once the first frame came. It reads bytes as they come, without
 * decoding them to text: its cost is what a client of the benchmark adds to every delivery's delay, since all of
 * them share one process on the same 2 cores as the server.
 */
export const watch = (url: string, id: string): Watcher => {
  const arrivals = new Map<number, number>()
  let onFirst: () => void = () => {}
  let onEnd: () => void = () => {}
  const connected = new Promise<void>((r) => (onFirst = r))
  const ended = new Promise<void>((r) => (onEnd = r))
  const idBytes = Buffer.from(`"task_id":"${id}"`)
  const request = Http.get(url, { agent: false }, (response) => {
    let buffered: Buffer = Buffer.alloc(0)
    response.on("data", (chunk: Buffer) => {
      const at = now()
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
      let start = 0
      let end = buffered.indexOf(FRAME_END, start)
      while (end !== -1) {
        onFirst()
        const version = versionIn(buffered, start, end, idBytes)
        if (version !== undefined) arrivals.set(version, at)
        start = end + FRAME_END.length
        end = buffered.indexOf(FRAME_END, start)
      }
      buffered = buffered.subarray(start)
    })
    response.on("close", onEnd)
  })
  request.on("error", () => onEnd())
  return { arrivals, connected, ended, leave: () => request.destroy() }
}

/** Connects `count` clients, `batch` at a time, each waiting for its first frame (bounded by 120 s in all). */
export const connectAll = async (connect: () => Watcher, count: number, batch = 100) => {
  const watchers: Array<Watcher> = []
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, 120_000)))
  const deadline = Date.now() + 120_000
  try {
    for (let i = 0; i < count; i += batch) {
      const some = Array.from({ length: Math.min(batch, count - i) }, connect)
      watchers.push(...some)
      await Promise.race([Promise.all(some.map((w) => w.connected)), late])
      if (Date.now() >= deadline) throw new Error(`only ${watchers.length} of ${count} clients connected within 120 s`)
    }
    return watchers
  } finally {
    // Not left to hold the process open for two minutes after the benchmark.
    clearTimeout(timer)
  }
}

interface Streams {
  readonly task: number
  readonly all: number
}

/** Polls the server's count of open event streams until both are 0 (bounded: 400 × 25 ms); answers ms taken. */
const untilClosed = async (child: ChildProcess) => {
  const started = Date.now()
  for (let i = 0; i < 400; i++) {
    const open = await ask<Streams>(child, "streams", "streams")
    if (open.task === 0 && open.all === 0) return Date.now() - started
    await sleep(25)
  }
  throw new Error("open streams never came to 0")
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN

interface Memory {
  readonly heapUsed: number
  readonly rss: number
}

type Kind = "none" | "task" | "all"

interface Run {
  readonly kind: Kind
  /** From the gate's opening to the task's terminal change, on the server. */
  readonly runMs: number
  /** Server CPU time (user + system) from before the gate opened to the task's terminal change. */
  readonly cpuMs: number
  readonly delays: ReadonlyArray<number>
  readonly missing: number
  /** Server heap and RSS per client after a full GC, connected against before. */
  readonly heapPerClient: number
  readonly rssPerClient: number
  readonly closedMs: number
}

export const liveProgress = async (mode: Mode) => {
  const clients = Number(process.env.BENCH_SSE_CLIENTS ?? 1000)
  const segments = 200
  const segmentMs = 25
  const port = await freePort()
  const barePort = await freePort()
  const child = spawn(
    process.execPath,
    [
      "--expose-gc",
      // BENCH_SSE_PROFILE=<dir>: a CPU profile of the server, written there when it exits.
      ...(process.env.BENCH_SSE_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_SSE_PROFILE}`] : []),
      "--import",
      "tsx",
      "bench/sse-server.ts",
      String(port),
      String(segmentMs)
    ],
    {
      cwd: root,
      env: { ...process.env, AUDIO_DIR: mkdtempSync(join(tmpdir(), "storyflow-bench-sse-")) },
      stdio: ["ignore", "ignore", "inherit", "ipc"]
    }
  )
  const base = `http://127.0.0.1:${port}`
  const submit = async () => {
    const submitted = await fetch(`${base}/api/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        segments: Array.from({ length: segments }, (_, i) => ({ segment_id: `s${i}`, text: `Segment ${i}.` }))
      })
    })
    return ((await submitted.json()) as { task_id: string }).task_id
  }

  /** One task run with `clients` clients of `kind` connected before it moves (none: the baseline). */
  const run = async (kind: Kind): Promise<Run> => {
    await ask(child, "close", "closed")
    const id = await submit()
    const idle = await ask<Memory>(child, "memory", "memory")
    const url = kind === "task" ? `${base}/api/tasks/${id}/events` : `${base}/api/events`
    const watchers = kind === "none" ? [] : await connectAll(() => watch(url, id), clients)
    const held = await ask<Memory>(child, "memory", "memory")
    const done = ask<number>(child, `done:${id}`, "done")
    const cpuBefore = await ask<NodeJS.CpuUsage>(child, "cpu", "cpu")
    const goAt = await ask<number>(child, "go", "go")
    const doneAt = await done
    const cpuAfter = await ask<NodeJS.CpuUsage>(child, "cpu", "cpu")
    // Every client has the terminal version (bounded: 120 s after the task's end).
    const changes = (await ask<Array<[string, number, number]>>(child, "changes", "changes")).filter(
      ([task]) => task === id
    )
    const published = new Map(changes.map(([, version, at]) => [version, at]))
    const last = Math.max(...published.keys())
    for (let i = 0; i < 1200 && !watchers.every((w) => w.arrivals.has(last)); i++) await sleep(100)
    watchers.forEach((w) => w.leave())
    await Promise.all(watchers.map((w) => w.ended))
    const closedMs = await untilClosed(child)
    // Versions published after the gate opened: the first ones (PENDING, PROCESSING) came before.
    const firstVersion = Math.min(...watchers.map((w) => Math.min(...w.arrivals.keys())))
    const delays: Array<number> = []
    let missing = 0
    for (const w of watchers) {
      for (const [version, at] of published) {
        if (version <= firstVersion) continue
        const arrived = w.arrivals.get(version)
        if (arrived === undefined) missing++
        else delays.push(arrived - at)
      }
    }
    delays.sort((a, b) => a - b)
    const per = Math.max(1, watchers.length)
    return {
      kind,
      runMs: doneAt - goAt,
      cpuMs: (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / 1000,
      delays,
      missing,
      heapPerClient: (held.heapUsed - idle.heapUsed) / per,
      rssPerClient: (held.rss - idle.rss) / per,
      closedMs
    }
  }

  try {
    await ask(child, "", "listening")
    // What node itself holds per open connection: a bare node:http server in the same process, holding responses.
    await ask(child, `bare:${barePort}`, "bare")
    const before = await ask<Memory>(child, "memory", "memory")
    const bare = await connectAll(() => watch(`http://127.0.0.1:${barePort}/`, "-"), clients)
    const bareHeld = await ask<Memory>(child, "memory", "memory")
    bare.forEach((w) => w.leave())
    await Promise.all(bare.map((w) => w.ended))
    const bareHeap = (bareHeld.heapUsed - before.heapUsed) / clients

    const runs: Array<Run> = []
    for (const kind of ["none", "task", "none", "all", "none"] as const) runs.push(await run(kind))
    const baselines = runs.filter((r) => r.kind === "none").map((r) => r.runMs)
    const baseline = baselines.reduce((a, b) => a + b, 0) / baselines.length
    const cpus = runs.filter((r) => r.kind === "none").map((r) => r.cpuMs)
    const cpuBaseline = cpus.reduce((a, b) => a + b, 0) / cpus.length
    const kib = (bytes: number) => `${fixed(bytes / 1024, 1)} KiB`
    const n = clients.toLocaleString("en")
    const column = (r: Run) => [
      `${fixed(r.runMs / 1000, 2)} s`,
      `${fixed(r.runMs / baseline)}x`,
      `${fixed(r.cpuMs / 1000, 2)} s (${fixed(r.cpuMs / cpuBaseline)}x)`,
      r.delays.length.toLocaleString("en"),
      r.missing.toLocaleString("en"),
      `${fixed(percentile(r.delays, 50))} ms`,
      `${fixed(percentile(r.delays, 99))} ms`,
      `${fixed(r.delays[r.delays.length - 1] ?? Number.NaN)} ms`,
      kib(r.heapPerClient),
      kib(r.rssPerClient),
      `${r.closedMs} ms`
    ]
    const task = runs.find((r) => r.kind === "task")!
    const all = runs.find((r) => r.kind === "all")!
    const measures = [
      "task run (gate open → terminal change)",
      `ratio to the run with no clients (${baselines.map((b) => fixed(b / 1000, 2)).join(" / ")} s)`,
      `server CPU during the run (ratio to the runs with none: ${cpus.map((c) => fixed(c / 1000, 2)).join(" / ")} s)`,
      "deliveries measured",
      "deliveries missing",
      "delay change → client, p50",
      "delay change → client, p99",
      "delay change → client, max",
      "server heap per client (after GC)",
      "server RSS per client",
      "open streams → 0 after the clients left"
    ]
    const taskColumn = column(task)
    const allColumn = column(all)
    table(
      `5. Live progress: ${n} SSE clients, one task of ${segments} segments (${segmentMs} ms each), server in its own process`,
      ["measure", `${n} × /api/tasks/{id}/events`, `${n} × /api/events`],
      measures.map((m, i) => [m, taskColumn[i]!, allColumn[i]!])
    )
    console.log(
      `(a bare node:http server in the same process holds ${kib(bareHeap)} of heap per open connection; ` +
        `goals: ratio ≤ 1.20x, p99 ≤ 250 ms, heap per client < 20 KiB)`
    )
    if (mode.full)
      console.log(`(runs in order: ${runs.map((r) => `${r.kind} ${fixed(r.runMs / 1000, 2)} s`).join(", ")})`)
  } finally {
    child.kill("SIGTERM")
    await once(child, "exit")
  }
}
