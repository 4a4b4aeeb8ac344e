import type { LogLevel } from "effect"
import { Cause, Effect, HashMap, List, Logger, Option } from "effect"

export interface CapturedLog {
  readonly level: LogLevel.LogLevel["label"]
  readonly message: string
  readonly annotations: Record<string, unknown>
  /** The log spans the line was logged in, by label. */
  readonly spans: ReadonlyArray<string>
  /** The cause logged with the line, pretty-printed; absent when there is none. */
  readonly cause?: string
}

/**
 * A logger layer that records lines in `lines` instead of printing them. Fibers inherit their logger when they
 * are forked, so to see a background fiber's lines provide this around the code that builds its layer.
 */
export const logCapture = () => {
  const lines: Array<CapturedLog> = []
  const logger = Logger.make(({ annotations, cause, logLevel, message, spans }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    lines.push({
      level: logLevel.label,
      message: text,
      annotations: Object.fromEntries(HashMap.toEntries(annotations)),
      spans: List.toArray(spans).map((span) => span.label),
      ...(Cause.isEmpty(cause) ? {} : { cause: Cause.pretty(cause) })
    })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/** Runs `self` with every log line captured instead of printed; answers its result and the lines. */
export const captureLogs = <A, E, R>(self: Effect.Effect<A, E, R>) => {
  const { layer, lines } = logCapture()
  return self.pipe(
    Effect.map((result) => ({ result, lines })),
    Effect.provide(layer)
  )
}

/** The "Cleaned up N finished task(s)" lines among `lines`. */
export const cleanups = (lines: ReadonlyArray<CapturedLog>) => lines.filter((l) => l.message.startsWith("Cleaned up"))

/** A "Cleaned up" line: when it was logged (by the logging fiber's `Clock`), what it says and its `evicted` count. */
export interface CleanupLine {
  readonly at: number
  readonly message: string
  readonly evicted: number
}

/**
 * A logger layer that records only the "Cleaned up" lines, with the time each was logged at: under `TestClock`,
 * the simulated time. Provide it around the code that builds the registry's layer, to see its fibers' lines too.
 */
export const cleanupCapture = () => {
  const lines: Array<CleanupLine> = []
  const logger = Logger.make(({ annotations, date, message }) => {
    const text = Array.isArray(message) ? message.map(String).join(" ") : String(message)
    if (!text.startsWith("Cleaned up")) return
    const evicted = Option.getOrElse(Option.map(HashMap.get(annotations, "evicted"), Number), () => Number.NaN)
    lines.push({ at: date.getTime(), message: text, evicted })
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}
