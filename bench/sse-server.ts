import { NodeRuntime } from "@effect/platform-node"
import { ConfigProvider, Deferred, Duration, Effect, Layer, Metric, Ref, Runtime, Stream } from "effect"
import * as Http from "node:http"
import * as V8 from "node:v8"
import { servicesWith } from "../src/App.js"
import { isFinished } from "../src/domain/Task.js"
import type { TaskId } from "../src/domain/TaskId.js"
import { HttpAppLive } from "../src/http/HttpApp.js"
import { eventStreamsOpen } from "../src/http/metrics/HttpMetrics.js"
import * as Listener from "../src/http/transport/Listener.js"
import * as TestSynthesizer from "../src/layers/speech/TestSynthesizer.js"
import { Synthesizer } from "../src/services/Synthesizer.js"
import { TaskRegistry } from "../src/services/TaskRegistry.js"

// The server of the live-progress benchmark (./sse.ts), in a process of its own so that its event loop is not the
// clients'. The real HTTP app with the test synthesizer, whose segments take SEGMENT_MS each and wait for a gate
// that the benchmark opens (so that every client is connected before the first change). Over IPC it answers:
// "close" closes the gate again (for the next task); "go" opens it and answers when, in ms since the epoch;
// "memory" answers the heap after a full GC; "cpu" the process's CPU time so far; "streams" the open event streams (task and all); "changes" when each
// version of each task was published (performance.timeOrigin + now()); "done:<id>" waits for the task's end;
// "bare:<port>" starts a bare node:http server that holds every request open after one SSE comment (what a
// connection costs node itself, without the app). With BENCH_SSE_HEAP_SNAPSHOTS set, "snapshot:<file>" writes a
// heap snapshot there after a full GC (./sse-heap.ts) and answers its path.

const port = Number(process.argv[2])
const segmentMs = Number(process.argv[3] ?? 25)
const send = (message: unknown) => process.send?.(message)
const now = () => performance.timeOrigin + performance.now()

const program = Effect.gen(function* () {
  const gate = yield* Ref.make(yield* Deferred.make<void>())
  const changes = yield* Ref.make<Array<readonly [string, number, number]>>([])
  const engine = TestSynthesizer.make({ delay: Duration.millis(segmentMs) })
  const gated = Layer.succeed(Synthesizer, {
    ...engine,
    synthesize: (text, voice, speed) =>
      Effect.zipRight(Effect.flatMap(Ref.get(gate), Deferred.await), engine.synthesize(text, voice, speed))
  })
  const services = servicesWith(gated)
  const app = HttpAppLive.pipe(Layer.provide(Listener.layer({ port })), Layer.provideMerge(services))
  const context = yield* Layer.build(app)
  const registry = yield* Effect.provide(TaskRegistry, context)
  // Publication times, read from the registry's own stream of changes: within microseconds of the change.
  yield* registry.events.pipe(
    Stream.runForEach((event) =>
      event._tag === "Changed"
        ? Ref.update(changes, (all) => {
            all.push([event.task.id, event.task.version, now()])
            return all
          })
        : Effect.void
    ),
    Effect.forkScoped
  )
  const held: Array<Http.ServerResponse> = []
  const runtime = yield* Effect.runtime<never>()
  const streams = (name: "task" | "all") =>
    Effect.map(Metric.value(Metric.tagged(eventStreamsOpen, "stream", name)), (s) => s.count)
  process.on("message", (message) => {
    const run = Runtime.runPromise(runtime)
    if (message === "close")
      void run(Effect.flatMap(Deferred.make<void>(), (d) => Ref.set(gate, d))).then(() => send({ closed: true }))
    if (message === "go") {
      void run(Effect.flatMap(Ref.get(gate), (d) => Deferred.succeed(d, undefined))).then(() => send({ go: now() }))
    }
    if (message === "memory") {
      globalThis.gc?.()
      globalThis.gc?.()
      send({ memory: process.memoryUsage() })
    }
    if (message === "streams") {
      void run(Effect.all({ task: streams("task"), all: streams("all") })).then((s) => send({ streams: s }))
    }
    if (process.env.BENCH_SSE_HEAP_SNAPSHOTS && typeof message === "string" && message.startsWith("snapshot:")) {
      globalThis.gc?.()
      send({ snapshot: V8.writeHeapSnapshot(message.slice("snapshot:".length)) })
    }
    if (message === "cpu") send({ cpu: process.cpuUsage() })
    if (message === "changes") void run(Ref.get(changes)).then((all) => send({ changes: all }))
    if (typeof message === "string" && message.startsWith("done:")) {
      const id = message.slice("done:".length) as TaskId
      void run(
        registry.watch(id).pipe(
          Stream.takeUntil(isFinished),
          Stream.runDrain,
          Effect.ignore,
          Effect.map(() => now())
        )
      ).then((at) => send({ done: at }))
    }
    if (typeof message === "string" && message.startsWith("bare:")) {
      const server = Http.createServer((_request, response) => {
        response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
        response.write(": hi\n\n")
        held.push(response)
        response.on("close", () => held.splice(held.indexOf(response), 1))
      })
      server.listen(Number(message.slice("bare:".length)), "127.0.0.1", () => send({ bare: true }))
    }
  })
  send({ listening: port })
  return yield* Effect.never
})

program.pipe(
  Effect.scoped,
  Effect.withConfigProvider(
    ConfigProvider.fromMap(
      new Map([
        ["AUDIO_DIR", process.env.AUDIO_DIR ?? "./data/bench-audio"],
        ["TASK_CLEANUP_INTERVAL", "0"]
      ])
    )
  ),
  NodeRuntime.runMain
)
