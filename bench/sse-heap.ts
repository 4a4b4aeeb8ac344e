import { spawn } from "node:child_process"
import { once } from "node:events"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freePort } from "../test/support/net.js"
import { ask, connectAll, watch } from "./sse.js"

// Heap snapshots of the live-progress server (./sse-server.ts) with no client, then with CLIENTS idle clients of one
// task's stream, then with as many of /api/events, for ./heapDiff.ts to compare. Not part of `npm run bench`:
//   node --import tsx bench/sse-heap.ts [clients] [directory]
// writes <directory>/{idle,task,all}.heapsnapshot.

const clients = Number(process.argv[2] ?? 500)
const directory = process.argv[3] ?? mkdtempSync(join(tmpdir(), "storyflow-sse-heap-"))
const port = await freePort()
const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", "bench/sse-server.ts", String(port), "25"], {
  cwd: new URL("../", import.meta.url),
  env: {
    ...process.env,
    BENCH_SSE_HEAP_SNAPSHOTS: "1",
    AUDIO_DIR: mkdtempSync(join(tmpdir(), "storyflow-bench-sse-"))
  },
  stdio: ["ignore", "ignore", "inherit", "ipc"]
})
const base = `http://127.0.0.1:${port}`
try {
  await ask(child, "", "listening")
  const submitted = await fetch(`${base}/api/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ segments: [{ segment_id: "s0", text: "Segment 0." }] })
  })
  const id = ((await submitted.json()) as { task_id: string }).task_id
  // Warm both routes once, so that the idle snapshot holds what the first request of each loads.
  for (const url of [`${base}/api/tasks/${id}/events`, `${base}/api/events`]) {
    const warm = await connectAll(() => watch(url, id), 2)
    warm.forEach((w) => w.leave())
    await Promise.all(warm.map((w) => w.ended))
  }
  await new Promise((r) => setTimeout(r, 500))
  console.log(await ask(child, `snapshot:${join(directory, "idle.heapsnapshot")}`, "snapshot"))
  for (const [name, url] of [
    ["task", `${base}/api/tasks/${id}/events`],
    ["all", `${base}/api/events`]
  ] as const) {
    const watchers = await connectAll(() => watch(url, id), clients)
    console.log(await ask(child, `snapshot:${join(directory, `${name}.heapsnapshot`)}`, "snapshot"))
    watchers.forEach((w) => w.leave())
    await Promise.all(watchers.map((w) => w.ended))
    await new Promise((r) => setTimeout(r, 500))
  }
} finally {
  child.kill("SIGTERM")
  await once(child, "exit")
}
