import { writeFileSync } from "node:fs"
import { Session } from "node:inspector/promises"
import { bullRun, oursRun } from "./redisLifecycle.js"
import { RedisMeter } from "./redisMeter.js"

// One side of the lifecycle benchmark (5e) alone, for a CPU profile of this process over the measured run only
// (after a warm-up, so that start-up and compilation are left out):
//   BENCH_REDIS_URL=redis://127.0.0.1:6447 BENCH_PROFILE=ours.cpuprofile node --import tsx bench/lifecycleDriver.ts \
//     ours 16 2000
// Arguments: `ours` or `bullmq`, the lanes (clients and workers), the tasks. Prints the run's figures per task; with
// `BENCH_PROFILE`, writes the run's CPU profile there (open it in Chrome's DevTools, or sum it by category).

const [side = "ours", lanes = "16", tasks = "2000"] = process.argv.slice(2)
const profile = process.env["BENCH_PROFILE"]
const meter = await RedisMeter.open()
try {
  const run = side === "bullmq" ? bullRun : oursRun
  await run(meter, 500, Number(lanes))
  const session = new Session()
  if (profile !== undefined) {
    session.connect()
    await session.post("Profiler.enable")
    await session.post("Profiler.setSamplingInterval", { interval: 100 })
    await session.post("Profiler.start")
  }
  const figures = await run(meter, Number(tasks), Number(lanes))
  if (profile !== undefined) {
    const { profile: taken } = await session.post("Profiler.stop")
    writeFileSync(profile, JSON.stringify(taken))
    session.disconnect()
  }
  console.log(JSON.stringify({ side, lanes: Number(lanes), tasks: Number(tasks), ...figures }))
} finally {
  meter.close()
}
