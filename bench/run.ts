import { httpPolling } from "./http.js"
import { memory } from "./memory.js"
import { redis } from "./redis.js"
import { evictionCost, throughput } from "./registry.js"
import type { Mode } from "./support.js"

const full = process.argv.includes("--full")
const only = process.argv.find((a) => a.startsWith("--only="))?.slice("--only=".length)
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
  redis
}

console.log(`StoryFlow Tasks benchmarks (${full ? "full" : "quick"} mode), Node ${process.version}`)
for (const [name, run] of Object.entries(sections)) {
  if (only !== undefined && only !== name) continue
  await run(mode)
}
