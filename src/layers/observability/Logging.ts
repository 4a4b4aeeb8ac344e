import type { ConfigError } from "effect"
import { Effect, Layer, Logger } from "effect"
import type { LogFormat } from "../../services/Settings.js"
import * as Settings from "../../services/Settings.js"

export type { LogFormat } from "../../services/Settings.js"

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
export const layerConfig: Layer.Layer<never, ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(Settings.logFormat, layer)
)
