import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import * as Http from "node:http"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../test/support/net.js"
import type { Mode } from "./support.js"
import { fixed, table } from "./support.js"

// Live progress: 1,000 SSE clients on 127.0.0.1 watching one task of 200 segments. The server runs in a process of
// its own (./sse-server.ts) and says when it published each change; the clients, here, note when each arrived.
// Both read the same machine clock (performance.timeOrigin + now()), so the difference is the delivery delay.

const root = new URL("../", import.meta.url)
const now = () => performance.timeOrigin + performance.now()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Sends `message` to the server process and resolves with the value of `key` in its answer (within 30 s). */
const ask = <A>(child: ChildProcess, message: string, key: string): Promise<A> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${message}`)), 30_000)
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
  /** Arrival time of each version, as the client parsed it. */
  readonly arrivals: Map<number, number>
  readonly connected: Promise<void>
  readonly ended: Promise<void>
  readonly leave: () => void
}

/** One EventSource-like client of `url`: records when each `id:` arrived; `connected` once the first event came. */
const watch = (url: string): Watcher => {
  const arrivals = new Map<number, number>()
  let onFirst: () => void = () => {}
  let onEnd: () => void = () => {}
  const connected = new Promise<void>((r) => (onFirst = r))
  const ended = new Promise<void>((r) => (onEnd = r))
  const request = Http.get(url, { agent: false }, (response) => {
    response.setEncoding("utf8")
    let buffered = ""
    response.on("data", (chunk: string) => {
      const at = now()
      buffered += chunk
      let end = buffered.indexOf("\n\n")
      while (end !== -1) {
        const frame = buffered.slice(0, end)
        buffered = buffered.slice(end + 2)
        const id = /^id: (\d+)$/m.exec(frame)
        if (id !== null) {
          arrivals.set(Number(id[1]), at)
          onFirst()
        }
        end = buffered.indexOf("\n\n")
      }
    })
    response.on("close", onEnd)
  })
  request.on("error", () => onEnd())
  return { arrivals, connected, ended, leave: () => request.destroy() }
}

/** Connects `count` watchers, `batch` at a time, each waiting for its first event (bounded by 60 s in all). */
const connectAll = async (url: string, count: number, batch = 100) => {
  const watchers: Array<Watcher> = []
  const deadline = Date.now() + 60_000
  for (let i = 0; i < count; i += batch) {
    const some = Array.from({ length: Math.min(batch, count - i) }, () => watch(url))
    watchers.push(...some)
    await Promise.all(some.map((w) => w.connected))
    if (Date.now() > deadline) throw new Error(`only ${watchers.length} of ${count} watchers connected within 60 s`)
  }
  return watchers
}

/** Polls the server's count of open task streams until it is `expected` (bounded: 200 × 25 ms); answers ms taken. */
const untilStreams = async (child: ChildProcess, expected: number) => {
  const started = Date.now()
  for (let i = 0; i < 200; i++) {
    if ((await ask<number>(child, "streams", "streams")) === expected) return Date.now() - started
    await sleep(25)
  }
  throw new Error(`open streams never came to ${expected}`)
}

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

interface Memory {
  readonly heapUsed: number
  readonly rss: number
}

export const liveProgress = async (mode: Mode) => {
  const clients = Number(process.env.BENCH_SSE_CLIENTS ?? 1000)
  const segments = 200
  const segmentMs = 25
  const port = await freePort()
  const child = spawn(
    process.execPath,
    ["--expose-gc", "--import", "tsx", "bench/sse-server.ts", String(port), String(segmentMs)],
    {
      cwd: root,
      env: { ...process.env, AUDIO_DIR: mkdtempSync(join(tmpdir(), "storyflow-bench-sse-")) },
      stdio: ["ignore", "ignore", "inherit", "ipc"]
    }
  )
  try {
    await ask(child, "", "listening")
    const base = `http://127.0.0.1:${port}`
    const submitted = await fetch(`${base}/api/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        segments: Array.from({ length: segments }, (_, i) => ({ segment_id: `s${i}`, text: `Segment ${i}.` }))
      })
    })
    const id: string = ((await submitted.json()) as { task_id: string }).task_id
    const url = `${base}/api/tasks/${id}/events`
    const idle = await ask<Memory>(child, "memory", "memory")

    // 1. Clients connect and leave before the task moves: memory per watcher, and the watchers freed.
    const leaving = await connectAll(url, clients)
    const held = await ask<Memory>(child, "memory", "memory")
    const open = await ask<number>(child, "streams", "streams")
    leaving.forEach((w) => w.leave())
    const freedMs = await untilStreams(child, 0)
    const freed = await ask<Memory>(child, "memory", "memory")

    // 2. Clients connect, the task runs: the delay from each change to its arrival at every client.
    const watchers = await connectAll(url, clients)
    const startedAt = now()
    await ask(child, "go", "go")
    // Generous: on a shared 2-core machine a change to a thousand streams takes a good part of a second.
    const bound = Number(process.env.BENCH_SSE_GRACE ?? 600_000)
    const all = Promise.all(watchers.map((w) => w.ended))
    const finished = await Promise.race([all.then(() => true), sleep(bound).then(() => false)])
    if (!finished) {
      const lastSeen = watchers.map((w) => Math.max(...w.arrivals.keys()))
      const streams = await ask<number>(child, "streams", "streams")
      throw new Error(
        `the clients' streams did not all end within ${bound} ms: last versions seen ${Math.min(...lastSeen)} to ` +
          `${Math.max(...lastSeen)}; ${streams} streams open on the server`
      )
    }
    const runMs = now() - startedAt
    const closedMs = await untilStreams(child, 0)
    const changes = (await ask<Array<[string, number, number]>>(child, "changes", "changes")).filter(
      ([task]) => task === id
    )
    const published = new Map(changes.map(([, version, at]) => [version, at]))
    const firstVersion = Math.min(...watchers.map((w) => Math.min(...w.arrivals.keys())))
    const last = Math.max(...published.keys())
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
    const mib = (bytes: number) => fixed(bytes / 1024 / 1024, 1)

    table(
      `5. Live progress: ${clients.toLocaleString("en")} SSE clients on one task of ${segments} segments (${segmentMs} ms each), server in its own process`,
      ["measure", "value"],
      [
        ["changes delivered to every client", `${(last - firstVersion).toLocaleString("en")} per client`],
        ["deliveries measured", delays.length.toLocaleString("en")],
        ["deliveries missing", missing.toLocaleString("en")],
        ["delay change → client, p50", `${fixed(percentile(delays, 50))} ms`],
        ["delay change → client, p99", `${fixed(percentile(delays, 99))} ms`],
        ["delay change → client, max", `${fixed(delays[delays.length - 1] ?? Number.NaN)} ms`],
        [
          `task run with ${clients.toLocaleString("en")} watchers`,
          `${fixed(runMs / 1000, 1)} s (${fixed((segments * segmentMs) / 1000, 1)} s of segments)`
        ],
        ["server heap per watcher (after GC)", `${fixed((held.heapUsed - idle.heapUsed) / clients / 1024, 1)} KiB`],
        ["server RSS per watcher", `${fixed((held.rss - idle.rss) / clients / 1024, 1)} KiB`],
        [`open streams with ${clients.toLocaleString("en")} watchers`, open.toLocaleString("en")],
        ["open streams → 0 after the clients left", `${freedMs} ms`],
        ["heap after they left, vs before they came", `${mib(freed.heapUsed)} MiB vs ${mib(idle.heapUsed)} MiB`],
        ["open streams → 0 after the task ended", `${closedMs} ms`]
      ]
    )
    if (mode.full) console.log(`(${changes.length} changes published; first version watched ${firstVersion})`)
  } finally {
    child.kill("SIGTERM")
    await once(child, "exit")
  }
}
