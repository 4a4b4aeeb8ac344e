import type { ConfigError } from "effect"
import { Config, Effect, Layer, Logger } from "effect"

/** How log lines are written: `pretty`, for people, or `json`, one object per line, for log collectors. */
export type LogFormat = "pretty" | "json"

/** `LOG_FORMAT`, `pretty` unless set; any other value fails at start-up with a message naming the variable. */
export const LogFormat: Config.Config<LogFormat> = Config.string("LOG_FORMAT").pipe(
  Config.withDefault("pretty"),
  Config.validate({
    message: 'LOG_FORMAT must be "pretty" or "json"',
    validation: (format): format is LogFormat => format === "pretty" || format === "json"
  }),
  Config.withDescription("how log lines are written: pretty (for people) or json (one object per line, for collectors)")
)

/**
 * Every log line as one JSON object (`Logger.json`: message, level, timestamp, annotations, spans, fiber), and no
 * other logger: `NodeRuntime.runMain` swaps Effect's default logger for its pretty one, which `Logger.json` alone
 * (a replacement of the default logger) would leave writing beside it.
 */
const jsonOnly = Layer.merge(Logger.json, Logger.remove(Logger.prettyLoggerDefault))

/**
 * The logger for `format`. `pretty` keeps the logger the program runs with, so the default output is what it has
 * always been (`NodeRuntime.runMain`'s pretty lines); `json` writes JSON only.
 */
export const layer = (format: LogFormat): Layer.Layer<never> => (format === "json" ? jsonOnly : Layer.empty)

/** The logger chosen by `LOG_FORMAT` in the `ConfigProvider`. */
export const layerConfig: Layer.Layer<never, ConfigError.ConfigError> = Layer.unwrapEffect(Effect.map(LogFormat, layer))
