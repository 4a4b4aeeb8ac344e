import { NodeRuntime } from "@effect/platform-node"
import { ConfigProvider, Deferred, Duration, Effect, Layer, Metric, Ref, Runtime, Stream } from "effect"
import { servicesWith } from "../src/App.js"
import { HttpAppLive } from "../src/http/HttpApp.js"
import { eventStreamsOpen } from "../src/http/metrics/HttpMetrics.js"
import * as Listener from "../src/http/transport/Listener.js"
import * as TestSynthesizer from "../src/layers/speech/TestSynthesizer.js"
import { Synthesizer } from "../src/services/Synthesizer.js"
import { TaskRegistry } from "../src/services/TaskRegistry.js"

// The server of the live-progress benchmark (./sse.ts), in a process of its own so that its event loop is not the
// clients'. The real HTTP app with the test synthesizer, whose segments take SEGMENT_MS each and wait for a gate
// that the benchmark opens (so that every client is connected before the first change). Over IPC it answers:
// "go" opens the gate; "memory" answers the heap after a full GC; "streams" the open event streams; "changes" when
// each version of each task was published, in ms since the epoch (performance.timeOrigin + now()).

const port = Number(process.argv[2])
const segmentMs = Number(process.argv[3] ?? 25)
const send = (message: unknown) => process.send?.(message)

const program = Effect.gen(function* () {
  const gate = yield* Deferred.make<void>()
  const changes = yield* Ref.make<Array<readonly [string, number, number]>>([])
  const engine = TestSynthesizer.make({ delay: Duration.millis(segmentMs) })
  const gated = Layer.succeed(Synthesizer, {
    ...engine,
    synthesize: (text, voice, speed) => Effect.zipRight(Deferred.await(gate), engine.synthesize(text, voice, speed))
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
            all.push([event.task.id, event.task.version, performance.timeOrigin + performance.now()])
            return all
          })
        : Effect.void
    ),
    Effect.forkScoped
  )
  const runtime = yield* Effect.runtime<never>()
  process.on("message", (message) => {
    const run = Runtime.runPromise(runtime)
    if (message === "go") void run(Deferred.succeed(gate, undefined)).then(() => send({ go: true }))
    if (message === "memory") {
      globalThis.gc?.()
      send({ memory: process.memoryUsage() })
    }
    if (message === "streams")
      void run(Metric.value(Metric.tagged(eventStreamsOpen, "stream", "task"))).then((s) => send({ streams: s.count }))
    if (message === "changes") void run(Ref.get(changes)).then((all) => send({ changes: all }))
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
