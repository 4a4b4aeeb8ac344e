import { Effect, Layer, Logger, LogLevel } from "effect"
import { createInterface } from "node:readline"
import { redisLayer } from "./redisSupport.js"

// One worker process for the Redis benchmark's "one process against two": it connects to the registry under
// BENCH_PREFIX, says "ready", and on the line "go" starts BENCH_CONCURRENCY workers for the echo kind, until killed.

const prefix = process.env["BENCH_PREFIX"]
if (prefix === undefined) throw new Error("BENCH_PREFIX is required")
const concurrency = Number(process.env["BENCH_CONCURRENCY"] ?? "1")

const lines = createInterface({ input: process.stdin })
const go = new Promise<void>((resolve) => lines.on("line", (line) => line.trim() === "go" && resolve()))

console.log("ready")
await go
await Layer.launch(
  redisLayer(prefix, { concurrency, maxPending: 1_000_000, maxPendingWork: 1_000_000, maxRetained: 1_000_000 })
).pipe(Logger.withMinimumLogLevel(LogLevel.None), Effect.runPromise)
