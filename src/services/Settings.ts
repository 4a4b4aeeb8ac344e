import type { Option } from "effect"
import { Config, ConfigError, Duration, Either, Redacted } from "effect"

// Every environment variable of the service is read here, and only here: each one once, with its default, its
// description and a message naming it for any value it refuses. Layers read the `ConfigProvider` through these
// (`layerConfig`); the README's Configuration table lists the same variables. Loaded by the library's main entry,
// so this module imports `effect` alone.

/** How the registry bounds its memory and its work. */
export interface RegistryConfigShape {
  /** How long a finished record is kept. */
  readonly cleanupThreshold: Duration.Duration
  /** Time between periodic sweeps; zero turns the sweep fiber off. */
  readonly cleanupInterval: Duration.Duration
  /** Finished records kept at most; past it the oldest go first. */
  readonly maxRetained: number
  /** PENDING + PROCESSING tasks at most; past it submit fails with `RegistryFull`. */
  readonly maxPending: number
  /** The most work (kinds' weights: characters for narration) unfinished tasks hold at once; `RegistryBusy` past it. */
  readonly maxPendingWork: number
  /** Tasks processed at once in this process: its worker fibers, and its speech-engine threads; 0 = none. */
  readonly concurrency: number
  /** Tombstones of evicted tasks kept at most. */
  readonly tombstones: number
}

/** Where the Redis registry keeps its tasks, and how long a worker's claim lasts. */
export interface RedisConfigShape {
  /** The Redis server, e.g. `redis://127.0.0.1:6379` (`rediss://` for TLS; credentials in the URL). */
  readonly url: string
  /** The prefix of every key; a Redis Cluster hash tag such as `{storyflow}:`, so one registry's keys share a slot. */
  readonly prefix: string
  /** How long a claim lasts without renewal; workers renew every third of it, and every process reaps expired ones. */
  readonly lease: Duration.Duration
  /** Claims a task may get before a lost worker fails it instead of handing it to another. */
  readonly maxAttempts: number
}

/** Where the server listens and how long it waits on its clients. */
export interface ListenerOptions {
  readonly host: string
  readonly port: number
  /** From a connection's first byte of a request to the end of its headers. */
  readonly headersTimeout: Duration.Duration
  /** From a request's first byte to the end of its body. */
  readonly requestTimeout: Duration.Duration
  /** How long an idle keep-alive connection is kept open. */
  readonly keepAliveTimeout: Duration.Duration
  /** On shutdown, how long requests under way may go on before every connection is closed. */
  readonly shutdownGrace: Duration.Duration
}

/** Who may reach the API from a browser, and by which host name. */
export interface GuardOptions {
  /** Origins (`scheme://host[:port]`) whose pages may call the API; none by default. */
  readonly corsOrigins: ReadonlyArray<string>
  /** Host names requests may be addressed to besides localhost and IP addresses; `*` allows any. */
  readonly allowedHosts: ReadonlyArray<string>
  /** The host the server listens on (the listener's `host`), allowed as a Host too when it is a name. */
  readonly listenHost: string
}

/** How long audio is kept and how much of it, at most. */
export interface AudioRetentionConfig {
  /** Audio is removed this long after its task's last file was written (about when the task finished); 0 = never. */
  readonly retention: Duration.Duration
  /** The most bytes of audio kept; past it the least recently written tasks' audio goes first. 0 = no budget. */
  readonly maxBytes: number
  /** How often the policy is applied. */
  readonly interval: Duration.Duration
}

/** How log lines are written: `pretty`, for people, or `json`, one object per line, for log collectors. */
export type LogFormat = "pretty" | "json"

/** Where tasks are kept: in this process's memory, or in Redis, shared by every process that uses it. */
export type TaskStore = "memory" | "redis"

/** The registry's embedded defaults, as listed in the README. */
export const registryDefaults: RegistryConfigShape = {
  cleanupThreshold: Duration.hours(1),
  cleanupInterval: Duration.minutes(10),
  maxRetained: 1000,
  maxPending: 100,
  maxPendingWork: 250_000,
  concurrency: 1,
  tombstones: 10_000
}

/** The Redis registry's embedded defaults, as listed in the README. */
export const redisDefaults: RedisConfigShape = {
  url: "redis://127.0.0.1:6379",
  prefix: "{storyflow}:",
  lease: Duration.seconds(30),
  maxAttempts: 2
}

/** The listener's embedded defaults, as listed in the README. */
export const listenerDefaults: ListenerOptions = {
  host: "127.0.0.1",
  port: 8000,
  headersTimeout: Duration.seconds(10),
  requestTimeout: Duration.seconds(30),
  keepAliveTimeout: Duration.seconds(5),
  shutdownGrace: Duration.seconds(5)
}

/** Audio retention's embedded defaults, as listed in the README. */
export const audioRetentionDefaults: AudioRetentionConfig = {
  // A day of audio: a client has that long to download what it asked for.
  retention: Duration.days(1),
  // 2 GiB: about 13 hours of speech at 22,050 Hz (44 kB a second), a busy day of narration, on a small disk.
  maxBytes: 2 * 1024 ** 3,
  interval: Duration.minutes(1)
}

/**
 * `config` read from the variable `name`. Nested under the name rather than named inside, so that every failure
 * (a value that does not parse, one a rule refuses, one of several rules) is reported at the variable.
 */
const variable = <A>(name: string, description: string, config: Config.Config<A>): Config.Config<A> =>
  Config.nested(Config.withDescription(config, description), name)

/** The variable's text as a number; a blank value is none (`Number("")` would make it 0). */
const numeric = Config.map(Config.string(), (text) => (text.trim() === "" ? Number.NaN : Number(text)))

/**
 * A count: a whole number of at least `min` (`0`: none is allowed; `1`: at least one), and at most `max` if given;
 * whatever is wrong with a value, the message is the same.
 */
const count = (name: string, min: 0 | 1, fallback: number, description: string, max?: number) =>
  variable(
    name,
    description,
    numeric.pipe(
      Config.validate({
        message: `${name} must be a whole number, ${max === undefined ? `${min} or more` : `from ${min} to ${max}`}`,
        validation: (n) => Number.isSafeInteger(n) && n >= min && (max === undefined || n <= max)
      }),
      Config.withDefault(fallback)
    )
  )

/** A duration in seconds, fractions allowed: `">= 0"` allows zero (often "off"), `"> 0"` does not. */
const seconds = (name: string, bound: ">= 0" | "> 0", fallback: Duration.Duration, description: string) =>
  variable(
    name,
    description,
    numeric.pipe(
      Config.validate({
        message: `${name} must be a finite number of seconds, ${bound === "> 0" ? "more than 0" : "0 or more"}`,
        validation: (n) => Number.isFinite(n) && (bound === "> 0" ? n > 0 : n >= 0)
      }),
      Config.map(Duration.seconds),
      Config.withDefault(fallback)
    )
  )

/** Text, refused with the rule's message where the rule, if any, refuses it. */
const text = (
  name: string,
  fallback: string,
  description: string,
  rule?: { readonly message: string; readonly validation: (text: string) => boolean }
) =>
  variable(
    name,
    description,
    Config.withDefault(rule === undefined ? Config.string() : Config.validate(Config.string(), rule), fallback)
  )

/** One of `values`, exactly as written. */
const oneOf = <const A extends string>(name: string, values: ReadonlyArray<A>, fallback: A, description: string) =>
  variable(
    name,
    description,
    Config.string().pipe(
      Config.validate({
        message: `${name} must be ${values.map((value) => `"${value}"`).join(" or ")}`,
        validation: (text): text is A => values.some((value) => value === text)
      }),
      Config.withDefault(fallback)
    )
  )

const yes = new Set(["true", "yes", "on", "1"])
const no = new Set(["false", "no", "off", "0"])

/** On or off: true / yes / on / 1, or false / no / off / 0. */
const flag = (name: string, fallback: boolean, description: string) =>
  variable(
    name,
    description,
    Config.string().pipe(
      Config.mapOrFail((value) =>
        yes.has(value)
          ? Either.right(true)
          : no.has(value)
            ? Either.right(false)
            : Either.left(ConfigError.InvalidData([], `${name} must be true or false (or yes / no, on / off, 1 / 0)`))
      ),
      Config.withDefault(fallback)
    )
  )

/** A comma-separated list of items that `valid` accepts; empty items (a trailing comma) are dropped. */
const list = (name: string, valid: (item: string) => boolean, items: string, description: string) =>
  variable(
    name,
    description,
    Config.array(Config.string()).pipe(
      Config.map((values) => values.filter((value) => value !== "")),
      Config.validate({
        message: `${name} must be a comma-separated list of ${items}`,
        validation: (values) => values.every(valid)
      }),
      Config.withDefault([])
    )
  )

// The registry.

/** `TASK_CONCURRENCY`: the registry's workers and the speech engine's threads are both this one value. */
const concurrency = count(
  "TASK_CONCURRENCY",
  0,
  registryDefaults.concurrency,
  "tasks processed at once: worker fibers, and one speech-engine thread each; 0 = none"
)

/** The registry's settings: `TASK_CLEANUP_*`, `TASK_MAX_*`, `TASK_CONCURRENCY`, `TASK_TOMBSTONES`. */
export const registry: Config.Config<RegistryConfigShape> = Config.all({
  cleanupThreshold: seconds(
    "TASK_CLEANUP_THRESHOLD",
    ">= 0",
    registryDefaults.cleanupThreshold,
    "seconds a finished record is kept"
  ),
  cleanupInterval: seconds(
    "TASK_CLEANUP_INTERVAL",
    ">= 0",
    registryDefaults.cleanupInterval,
    "seconds between sweeps; 0 = none"
  ),
  maxRetained: count("TASK_MAX_RETAINED", 0, registryDefaults.maxRetained, "finished records kept at most"),
  maxPending: count("TASK_MAX_PENDING", 1, registryDefaults.maxPending, "pending + processing tasks at most"),
  maxPendingWork: count(
    "TASK_MAX_PENDING_WORK",
    1,
    registryDefaults.maxPendingWork,
    "work (characters, for narration) pending + processing tasks hold at most"
  ),
  concurrency,
  tombstones: count("TASK_TOMBSTONES", 0, registryDefaults.tombstones, "evicted-task tombstones kept")
})

/**
 * The registry's settings for the in-memory store, which refuses `TASK_CONCURRENCY=0`: tasks in memory can only be
 * run by this process, so a process without workers would accept tasks that never run.
 */
export const registryInMemory: Config.Config<RegistryConfigShape> = Config.mapOrFail(registry, (config) =>
  config.concurrency > 0
    ? Either.right(config)
    : Either.left(
        ConfigError.InvalidData(
          ["TASK_CONCURRENCY"],
          "TASK_CONCURRENCY must be 1 or more: with the in-memory registry no other process can run this one's tasks"
        )
      )
)

/** `TASK_STORE`: which registry the server runs. */
export const taskStore: Config.Config<TaskStore> = oneOf(
  "TASK_STORE",
  ["memory", "redis"],
  "memory",
  "where tasks are kept: memory (this process) or redis (shared)"
)

const isRedisUrl = (value: string) => {
  try {
    const url = new URL(value)
    return (url.protocol === "redis:" || url.protocol === "rediss:") && url.hostname !== ""
  } catch {
    return false
  }
}

/** The Redis registry's settings: `REDIS_URL`, `TASK_REDIS_PREFIX`, `TASK_LEASE`, `TASK_MAX_ATTEMPTS`. */
export const redis: Config.Config<RedisConfigShape> = Config.all({
  url: text("REDIS_URL", redisDefaults.url, "the Redis server, when TASK_STORE=redis", {
    message: "REDIS_URL must be a redis:// or rediss:// URL with a host, such as redis://127.0.0.1:6379",
    validation: isRedisUrl
  }),
  prefix: text("TASK_REDIS_PREFIX", redisDefaults.prefix, "prefix of every Redis key (a cluster hash tag)", {
    message: "TASK_REDIS_PREFIX must be 1 to 100 characters, none of them a space, * ? [ ] or \\",
    validation: (p) => p.length > 0 && p.length <= 100 && !/[\s*?[\]\\]/.test(p)
  }),
  lease: seconds("TASK_LEASE", "> 0", redisDefaults.lease, "seconds a worker's claim lasts without renewal"),
  maxAttempts: count(
    "TASK_MAX_ATTEMPTS",
    1,
    redisDefaults.maxAttempts,
    "claims a task may get before a lost worker fails it"
  )
})

/** `TASK_ID_SECRET`, if set, as the key's bytes (its UTF-8 encoding). */
export const taskIdSecret: Config.Config<Option.Option<Redacted.Redacted<Uint8Array>>> = Config.option(
  variable(
    "TASK_ID_SECRET",
    "the key that signs task ids; ids stay recognisable across restarts that keep it",
    Config.redacted().pipe(
      Config.validate({
        // Shorter secrets could be found by trying candidates against a few known ids.
        message: "TASK_ID_SECRET must be at least 32 characters (for example `openssl rand -hex 32`)",
        validation: (value) => Redacted.value(value).length >= 32
      }),
      Config.map((value) => Redacted.make(new TextEncoder().encode(Redacted.value(value))))
    )
  )
)

// The HTTP server.

/** `HOST`, read once: where the listener listens, and a `Host` the guards allow. */
const host = text("HOST", listenerDefaults.host, "the address the server listens on (an IP address or a host name)")

/** The listener's settings: `HOST`, `PORT` and the `HTTP_*` timeouts. */
export const listener: Config.Config<ListenerOptions> = Config.all({
  host,
  port: count("PORT", 1, listenerDefaults.port, "the port the server listens on", 65535),
  headersTimeout: seconds(
    "HTTP_HEADERS_TIMEOUT",
    "> 0",
    listenerDefaults.headersTimeout,
    "seconds a client has to send headers"
  ),
  requestTimeout: seconds(
    "HTTP_REQUEST_TIMEOUT",
    "> 0",
    listenerDefaults.requestTimeout,
    "seconds a client has to send a request"
  ),
  keepAliveTimeout: seconds(
    "HTTP_KEEPALIVE_TIMEOUT",
    "> 0",
    listenerDefaults.keepAliveTimeout,
    "seconds an idle connection stays"
  ),
  shutdownGrace: seconds(
    "HTTP_SHUTDOWN_GRACE",
    "> 0",
    listenerDefaults.shutdownGrace,
    "seconds requests may finish on shutdown"
  )
}).pipe(
  Config.mapOrFail((options) =>
    // Node refuses to start otherwise; say so in the terms of the variables.
    Duration.lessThanOrEqualTo(options.headersTimeout, options.requestTimeout)
      ? Either.right(options)
      : Either.left(
          ConfigError.InvalidData(
            ["HTTP_HEADERS_TIMEOUT"],
            "HTTP_HEADERS_TIMEOUT must not be longer than HTTP_REQUEST_TIMEOUT"
          )
        )
  )
)

const isOrigin = (value: string) => URL.canParse(value) && new URL(value).origin === value

/** The guards' settings: `CORS_ORIGINS`, `ALLOWED_HOSTS`, and the listener's `HOST`. */
export const guards: Config.Config<GuardOptions> = Config.all({
  corsOrigins: list(
    "CORS_ORIGINS",
    isOrigin,
    "origins such as https://app.example.com (no path, no slash)",
    "origins whose pages may call the API"
  ),
  allowedHosts: list(
    "ALLOWED_HOSTS",
    (h) => h === "*" || /^[a-z0-9.-]+$/i.test(h),
    "host names, or *",
    "Host names served besides localhost and IP addresses; * = any"
  ),
  listenHost: host
})

/** `HTTP_TRACE_POLLING`: serve status polls like every other request, through the platform and with a span. */
export const tracePolling: Config.Config<boolean> = flag(
  "HTTP_TRACE_POLLING",
  false,
  "whether GET /api/tasks/{task_id} is served and traced like other requests; off, as polls are hot"
)

// Audio and logs.

/** `AUDIO_DIR`: the directory audio (and the task-id key file) is written under. */
export const audioDir: Config.Config<string> = text(
  "AUDIO_DIR",
  "./data/audio",
  "where generated WAV files are written"
)

/** Audio retention's settings: `AUDIO_RETENTION` and `AUDIO_MAX_BYTES`. */
export const audioRetention: Config.Config<AudioRetentionConfig> = Config.all({
  retention: seconds(
    "AUDIO_RETENTION",
    ">= 0",
    audioRetentionDefaults.retention,
    "seconds a finished task's audio is kept; 0 = no age limit"
  ),
  maxBytes: count("AUDIO_MAX_BYTES", 0, audioRetentionDefaults.maxBytes, "bytes of audio kept at most; 0 = no budget"),
  interval: Config.succeed(audioRetentionDefaults.interval)
})

/** `LOG_FORMAT`: how log lines are written. */
export const logFormat: Config.Config<LogFormat> = oneOf(
  "LOG_FORMAT",
  ["pretty", "json"],
  "pretty",
  "how log lines are written: pretty (for people) or json (one object per line, for collectors)"
)
