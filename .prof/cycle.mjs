import { Effect, Layer, Schema, Stream, Logger, LogLevel } from "effect"
import * as TaskKind from "/work/main/dist/domain/TaskKind.js"
import * as TaskRegistryMemory from "/work/main/dist/layers/TaskRegistryMemory.js"
import * as TaskWorkers from "/work/main/dist/layers/TaskWorkers.js"
import * as RegistryConfig from "/work/main/dist/services/RegistryConfig.js"
import * as TaskHandler from "/work/main/dist/services/TaskHandler.js"
import { TaskRegistry } from "/work/main/dist/services/TaskRegistry.js"
import { CompletedSegment } from "/work/main/dist/domain/Task.js"
const Noop = TaskKind.make({ name: "noop", payload: Schema.Struct({}), total: () => 1 })
const H = TaskHandler.layer(Noop, Effect.succeed((_, p) => p.segmentDone(new CompletedSegment({ segmentId: "s1", audioUrl: "/x", durationSeconds: 1 }))))
const L = (c) => TaskWorkers.layer(Noop).pipe(Layer.provide(H), Layer.provideMerge(TaskRegistryMemory.layer), Layer.provide(RegistryConfig.layer({ concurrency: c, maxPending: 1e6 })))
const N = 10000
const run = (label, c, body) => Effect.runPromise(Effect.gen(function* () {
  const r = yield* TaskRegistry
  for (let i = 0; i < 500; i++) yield* body(r, i)
  const t0 = performance.now()
  for (let i = 1; i <= N; i++) yield* body(r, i)
  console.log(label.padEnd(40), ((performance.now() - t0) / N * 1000).toFixed(1), "µs/task")
}).pipe(Effect.provide(L(c)), Logger.withMinimumLogLevel(LogLevel.None)))
await run("submit only (no workers)", 0, (r) => r.submit(Noop, {}))
await run("submit + get (no workers)", 0, (r) => Effect.flatMap(r.submit(Noop, {}), (t) => r.get(t.id)))
await run("submit + watch drain (no worker, finished?)", 0, (r) => Effect.flatMap(r.submit(Noop, {}), (t) => Effect.flatMap(r.cancel(t.id), () => Stream.runDrain(r.watch(t.id)))))
await run("submit, poll get until done", 1, (r) => Effect.flatMap(r.submit(Noop, {}), (t) => Effect.repeat(Effect.zipRight(Effect.yieldNow(), r.get(t.id)), { until: (x) => x._tag === "COMPLETED" })))
await run("submit, watch until done", 1, (r) => Effect.flatMap(r.submit(Noop, {}), (t) => Stream.runDrain(r.watch(t.id))))
await run("batch 100 then watch last", 1, (r, i) => Effect.flatMap(r.submit(Noop, {}), (t) => i % 100 === 0 ? Stream.runDrain(r.watch(t.id)) : Effect.void))
