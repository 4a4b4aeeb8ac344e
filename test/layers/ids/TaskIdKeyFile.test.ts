import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { KEY_FILE, layerConfig, TaskIdKeyError } from "../../../src/layers/ids/TaskIdKeyFile.js"
import * as TaskIdsHmac from "../../../src/layers/ids/TaskIdsHmac.js"
import { TaskIds } from "../../../src/services/TaskIds.js"
import { tempAudioDir } from "../../support/http.js"
import { withEnv } from "../../support/registry.js"

const SECRET = "a test secret, long enough to be accepted as a key"

/** The server's `TaskIds`, built from `env` as a process starting with that environment builds it. */
const start = (env: Record<string, string>) =>
  TaskIds.pipe(Effect.provide(withEnv(layerConfig.pipe(Layer.provide(NodeContext.layer)), env)))

/** Whether ids that `a` issues verify under `b`, with their creation time. */
const accepts = (a: TaskIds["Type"], b: TaskIds["Type"]) =>
  Effect.map(a.make(1_700_000_000_000), (id) => Option.getOrUndefined(b.issuedAt(id)) === 1_700_000_000_000)

describe("TaskIdKeyFile", () => {
  it.effect("keeps the key in AUDIO_DIR, created once and owner-only, so that a restart recognises earlier ids", () =>
    Effect.gen(function* () {
      const dir = join(tempAudioDir(), "not-yet-made")
      const first = yield* start({ AUDIO_DIR: dir })
      const file = join(dir, KEY_FILE)
      const key = readFileSync(file, "utf8")
      expect(key).toMatch(/^[0-9a-f]{64}\n$/)
      if (process.platform !== "win32") expect(statSync(file).mode & 0o777).toBe(0o600)
      const restarted = yield* start({ AUDIO_DIR: dir })
      expect(readFileSync(file, "utf8")).toBe(key)
      expect(yield* accepts(first, restarted)).toBe(true)
      expect(yield* accepts(restarted, first)).toBe(true)
      // Another directory, another key: wrong once in 2^26 runs, the odds of a 26-bit tag.
      expect(yield* accepts(first, yield* start({ AUDIO_DIR: tempAudioDir() }))).toBe(false)
    })
  )

  it.effect("gives processes that start at once over the same AUDIO_DIR one key", () =>
    Effect.gen(function* () {
      const dir = tempAudioDir()
      const started = yield* Effect.all(
        Array.from({ length: 8 }, () => start({ AUDIO_DIR: dir })),
        { concurrency: "unbounded" }
      )
      for (const a of started) for (const b of started) expect(yield* accepts(a, b)).toBe(true)
      // No half-written key and no temporary file is left behind.
      expect(readdirSync(dir)).toEqual([KEY_FILE])
    })
  )

  it.effect("uses TASK_ID_SECRET when it is set, without reading or writing a key file", () =>
    Effect.gen(function* () {
      const dir = tempAudioDir()
      const withFile = yield* start({ AUDIO_DIR: dir })
      const fromSecret = yield* start({ AUDIO_DIR: dir, TASK_ID_SECRET: SECRET })
      const elsewhere = yield* start({ AUDIO_DIR: tempAudioDir(), TASK_ID_SECRET: SECRET })
      expect(yield* accepts(fromSecret, elsewhere)).toBe(true)
      // The secret means the same to the library's layer as to the server's.
      const library = yield* TaskIds.pipe(Effect.provide(withEnv(TaskIdsHmac.layerConfig, { TASK_ID_SECRET: SECRET })))
      expect(yield* accepts(library, fromSecret)).toBe(true)
      // It takes precedence over the file that is there: wrong once in 2^26 runs, the odds of a 26-bit tag.
      expect(yield* accepts(withFile, fromSecret)).toBe(false)
      const untouched = tempAudioDir()
      yield* start({ AUDIO_DIR: untouched, TASK_ID_SECRET: SECRET })
      expect(readdirSync(untouched)).toEqual([])
    })
  )

  it.effect("refuses to start with a key file that holds no key, or a TASK_ID_SECRET that is too short", () =>
    Effect.gen(function* () {
      const dir = tempAudioDir()
      writeFileSync(join(dir, KEY_FILE), "not a key\n")
      const corrupt = yield* Effect.flip(start({ AUDIO_DIR: dir }))
      expect(corrupt).toBeInstanceOf(TaskIdKeyError)
      expect(corrupt.message).toContain(join(dir, KEY_FILE))
      const short = yield* Effect.flip(start({ AUDIO_DIR: tempAudioDir(), TASK_ID_SECRET: "too short" }))
      expect(String(short)).toContain("TASK_ID_SECRET must be at least 32 characters")
    })
  )
})
