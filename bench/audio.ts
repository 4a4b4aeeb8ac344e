import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../test/support/net.js"
import type { Mode } from "./support.js"
import { fixed, ratio, table } from "./support.js"

// The audio budget under load (issue 18's first measurement): the built server with real speech and
// AUDIO_MAX_BYTES=5000000, 5 clients submitting 5-segment batches one after another for 60 s (20 s in quick
// mode), the audio directory's size sampled every 20 ms. The bound is the budget plus one segment per writer
// (TASK_CONCURRENCY writers); before the budget was held at write time, the same load peaked at 196-422 MB.

const root = new URL("../", import.meta.url)
const budget = 5_000_000
const clients = 5
const sentence = "Once upon a time, a small fox crossed the frozen river to find the lantern it had lost."

const start = async (env: Record<string, string>) => {
  const port = await freePort()
  const child = spawn(process.execPath, ["dist/main.js"], {
    cwd: root,
    env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "inherit"]
  })
  let output = ""
  child.stdout?.on("data", (chunk) => (output += chunk))
  const exited = once(child, "exit").then(() => {
    throw new Error(`server exited before listening: ${output}`)
  })
  const listening = new Promise<void>((resolve) => {
    const look = () => (output.includes("Listening") ? resolve() : setTimeout(look, 20))
    look()
  })
  await Promise.race([listening, exited])
  return { base: `http://127.0.0.1:${port}`, child }
}

const stop = async (child: ChildProcess) => {
  if (child.exitCode !== null) return
  child.kill("SIGTERM")
  await once(child, "exit")
}

/** Bytes of every file under `dir`, and the largest file (a segment's WAV). */
const measure = (dir: string) => {
  let bytes = 0
  let largest = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue
    try {
      const size = statSync(join(entry.parentPath, entry.name)).size
      bytes += size
      largest = Math.max(largest, size)
    } catch {
      // Removed between the listing and the stat: it no longer counts.
    }
  }
  return { bytes, largest }
}

const client = async (base: string, until: number, n: number) => {
  let tasks = 0
  while (Date.now() < until) {
    const answer = await fetch(`${base}/api/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        segments: Array.from({ length: 5 }, (_, i) => ({ segment_id: `c${n}s${i}`, text: sentence }))
      })
    })
    const task = (await answer.json()) as { task_id?: string }
    if (answer.status !== 202 || task.task_id === undefined) {
      // Busy (503) or over the pending work: wait a little, as a client would.
      await new Promise((r) => setTimeout(r, 100))
      continue
    }
    // Follow the task until it is finished, bounded by the run's end.
    for (;;) {
      const status = (await (await fetch(`${base}/api/tasks/${task.task_id}`)).json()) as { status: string }
      if (status.status !== "PENDING" && status.status !== "PROCESSING") break
      if (Date.now() > until + 30_000) return tasks
      await new Promise((r) => setTimeout(r, 50))
    }
    tasks++
  }
  return tasks
}

export const audioBudget = async (mode: Mode) => {
  const seconds = mode.full ? 60 : 20
  const dir = mkdtempSync(join(tmpdir(), "storyflow-bench-audio-"))
  const writers = 1
  const { base, child } = await start({
    AUDIO_DIR: dir,
    AUDIO_MAX_BYTES: String(budget),
    TASK_CONCURRENCY: String(writers)
  })
  let peak = 0
  let largest = 0
  const sampler = setInterval(() => {
    const now = measure(dir)
    peak = Math.max(peak, now.bytes)
    largest = Math.max(largest, now.largest)
  }, 20)
  try {
    const until = Date.now() + seconds * 1000
    const done = await Promise.all(Array.from({ length: clients }, (_, n) => client(base, until, n)))
    const health = (await (await fetch(`${base}/api/health`)).json()) as { audio: { bytes: number } }
    const onDisk = measure(dir).bytes
    const bound = budget + writers * largest
    table(
      `Audio budget: ${clients} clients for ${seconds} s, AUDIO_MAX_BYTES=${budget}, ${writers} writer`,
      [
        "tasks done",
        "peak on disk (B)",
        "bound (B)",
        "peak ÷ budget",
        "peak ÷ bound",
        "health says (B)",
        "on disk at end (B)"
      ],
      [
        [
          String(done.reduce((a, b) => a + b, 0)),
          String(peak),
          String(bound),
          ratio(peak, budget),
          fixed(peak / bound),
          String(health.audio.bytes),
          String(onDisk)
        ]
      ]
    )
  } finally {
    clearInterval(sampler)
    await stop(child)
    rmSync(dir, { recursive: true, force: true })
  }
}
