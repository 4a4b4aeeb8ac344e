import { FileSystem, Path } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import type { ConfigError } from "effect"
import { Data, Effect, Layer, Option, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import * as Settings from "../../services/Settings.js"
import { TaskIds } from "../../services/TaskIds.js"
import * as TaskIdsHmac from "./TaskIdsHmac.js"

// The server's task-id key. Ids must stay recognisable across restarts, and across the processes that share a
// registry, so the key cannot be made afresh by each process. When `TASK_ID_SECRET` is not set, the key is kept in
// `AUDIO_DIR`: the design already requires processes that share a registry to share that directory, and it outlives
// restarts as the audio does. The file is created once, readable by its owner only; the audio routes cannot reach
// it (they serve `{uuid}/{segment}.wav` only).

/** The key file's name in `AUDIO_DIR`. */
export const KEY_FILE = ".task-id-secret"

/** The task-id key file could not be read or created, or does not hold a key; the server does not start. */
export class TaskIdKeyError extends Data.TaggedError("TaskIdKeyError")<{ readonly message: string }> {}

const KEY_TEXT = /^([0-9a-f]{64})\n?$/

const isReason = (reason: string) => (e: PlatformError) => e._tag === "SystemError" && e.reason === reason

/**
 * The key kept in `dir` (as 64 hex digits in `.task-id-secret`), created if it is missing. Creation is atomic: the
 * key is written whole to a temporary file, then hard-linked to its name, which fails if a concurrent process got
 * there first (a rename would replace its key); either way every process reads the one key that won.
 */
export const fromDirectory = (dir: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(dir, KEY_FILE)
    const failed = (doing: string) => (e: PlatformError) =>
      new TaskIdKeyError({
        message: `Could not ${doing} the task-id key ${file} (${e.message}); fix that, or set TASK_ID_SECRET`
      })

    const create = Effect.gen(function* () {
      yield* fs.makeDirectory(dir, { recursive: true })
      const partial = path.join(dir, `${KEY_FILE}.${randomBytes(8).toString("hex")}.partial`)
      yield* fs.writeFileString(partial, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600, flag: "wx" })
      const linked = yield* fs.link(partial, file).pipe(
        Effect.as(true),
        Effect.catchIf(isReason("AlreadyExists"), () => Effect.succeed(false)),
        Effect.ensuring(Effect.ignore(fs.remove(partial)))
      )
      if (linked) yield* Effect.logInfo(`Created the task-id key ${file}; keep it with the audio`)
      return yield* fs.readFileString(file)
    }).pipe(Effect.mapError(failed("create")))

    const existing = yield* fs.readFileString(file).pipe(
      Effect.map(Option.some),
      Effect.catchIf(isReason("NotFound"), () => Effect.succeedNone),
      Effect.mapError(failed("read"))
    )
    const text = Option.isSome(existing) ? existing.value : yield* create
    const hex = KEY_TEXT.exec(text)?.[1]
    if (hex === undefined) {
      return yield* new TaskIdKeyError({
        message:
          `${file} does not hold a task-id key (64 hex digits). Remove it to have a new key made (ids issued ` +
          "under the old one will then answer 404), or set TASK_ID_SECRET"
      })
    }
    return Redacted.make<Uint8Array>(Buffer.from(hex, "hex"))
  })

/** `TASK_ID_SECRET` if it is set; else the key kept in `AUDIO_DIR`, created there if missing. */
export const fromConfig = Effect.flatMap(
  Settings.taskIdSecret,
  Option.match({ onSome: Effect.succeed, onNone: () => Effect.flatMap(Settings.audioDir, fromDirectory) })
)

/** The server's ids: signed under `TASK_ID_SECRET`, or under the key kept in `AUDIO_DIR`. */
export const layerConfig: Layer.Layer<
  TaskIds,
  ConfigError.ConfigError | TaskIdKeyError,
  FileSystem.FileSystem | Path.Path
> = Layer.effect(TaskIds, Effect.flatMap(fromConfig, TaskIdsHmac.make))
