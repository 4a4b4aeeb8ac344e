import { Effect, Metric, Stream } from "effect"

/**
 * Event streams open now, by stream (`task`: one task's; `all`: GET /api/events). Not incremental, so that it can
 * go down: exported as a gauge.
 */
export const eventStreamsOpen = Metric.counter("storyflow_event_streams_open", {
  description: "Server-Sent Event streams open now"
})

/** `stream`, counted in `eventStreamsOpen` from its start until it ends, fails or is interrupted. */
export const countingOpen = <A, E, R>(stream: Stream.Stream<A, E, R>, name: "task" | "all") => {
  const open = Metric.tagged(eventStreamsOpen, "stream", name)
  return Stream.unwrapScoped(
    Effect.acquireRelease(Metric.increment(open), () => Metric.incrementBy(open, -1)).pipe(Effect.as(stream))
  )
}
