import { audioBudget } from "./audio.js"
import { httpPolling } from "./http.js"
import { memory } from "./memory.js"
import { redis } from "./redis.js"
import { lifecycle } from "./redisLifecycle.js"
import { evictionCost, throughput } from "./registry.js"
import { liveProgress } from "./sse.js"
import type { Mode } from "./support.js"

const full = process.argv.includes("--full")
// `--only=http,sse`: those sections alone, in the order of the list below.
const only = process.argv
  .find((a) => a.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",")
const against = process.argv
  .find((a) => a.startsWith("--against="))
  ?.slice("--against=".length)
  .split(",")
const mode: Mode = { full, repetitions: full ? 7 : 3, against }

const sections: Record<string, (mode: Mode) => Promise<void>> = {
  eviction: evictionCost,
  throughput,
  memory,
  http: httpPolling,
  sse: liveProgress,
  redis,
  // Also the end of `redis`; by this name, that benchmark alone.
  lifecycle,
  audio: audioBudget
}
// Run only when named in `--only` (a plain run gets them inside another section).
const askedOnly = new Set(["lifecycle", "audio"])

console.log(`StoryFlow Tasks benchmarks (${full ? "full" : "quick"} mode), Node ${process.version}`)
for (const [name, run] of Object.entries(sections)) {
  if (only === undefined ? askedOnly.has(name) : !only.includes(name)) continue
  await run(mode)
}
