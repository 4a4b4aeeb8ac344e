import { Metrics, Resource } from "@effect/opentelemetry"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import { Clock, Context, Effect, Layer, Metric, Option } from "effect"
import { oldestFinishedAge, recordsHeld, tombstonesHeld } from "../../services/Metrics.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"

/** The Prometheus text of every Effect metric of this process, with the registry's gauges read as of now. */
export class Prometheus extends Context.Tag("storyflow/http/Prometheus")<
  Prometheus,
  { readonly scrape: Effect.Effect<string> }
>() {}

/** The content type of the Prometheus text exposition format. */
export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

/** Sets the gauges that are read from the registry rather than counted: records, tombstones, the oldest's age. */
const readGauges = Effect.gen(function* () {
  const registry = yield* TaskRegistry
  const stats = yield* registry.stats
  yield* Metric.set(Metric.tagged(recordsHeld, "state", "pending"), stats.pending)
  yield* Metric.set(Metric.tagged(recordsHeld, "state", "processing"), stats.processing)
  yield* Metric.set(Metric.tagged(recordsHeld, "state", "finished"), stats.finished)
  yield* Metric.set(tombstonesHeld, stats.tombstones)
  const now = yield* Clock.currentTimeMillis
  yield* Metric.set(
    oldestFinishedAge,
    Option.match(stats.oldestFinishedAt, { onNone: () => 0, onSome: (at) => (now - at) / 1000 })
  )
})

/**
 * OpenTelemetry's Prometheus exporter, without its own HTTP server: `@effect/opentelemetry` makes Effect's metrics
 * an OpenTelemetry producer for it, and the exporter's serializer writes the text that GET /metrics answers.
 */
export const layer = Layer.scoped(
  Prometheus,
  Effect.gen(function* () {
    const registry = yield* TaskRegistry
    const exporter = new PrometheusExporter({ preventServerStart: true })
    yield* Layer.buildWithScope(
      Metrics.layer(() => exporter).pipe(Layer.provide(Resource.layer({ serviceName: "storyflow-tasks" }))),
      yield* Effect.scope
    )
    const serializer = new PrometheusSerializer()
    const scrape = readGauges.pipe(
      Effect.provideService(TaskRegistry, registry),
      // A store that cannot be reached leaves the gauges as last read; the counters are still worth exporting.
      Effect.catchAll((e) => Effect.logWarning("Could not read the registry's counts for /metrics", e)),
      Effect.zipRight(Effect.promise(() => exporter.collect())),
      Effect.map(({ resourceMetrics }) => serializer.serialize(resourceMetrics)),
      Effect.withSpan("Prometheus.scrape")
    )
    return { scrape }
  })
)
