import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { TaskId } from "../../src/domain/TaskId.js"
import { decodeWav } from "../../src/domain/Wav.js"
import * as AudioStoreFs from "../../src/layers/AudioStoreFs.js"
import { tempAudioDir } from "../support/http.js"

const taskId = TaskId.make("3f0c2a9e-1b7d-4c55-9d0e-2a6b8f1c4d3e")
const speech = { samples: new Int16Array([0, 100, -100, 0]), sampleRate: 8000 }

describe("AudioStoreFs", () => {
  it.effect("writes {task_id}/{segment_id}.wav under its root and finds it again", () =>
    Effect.gen(function* () {
      const root = tempAudioDir()
      const store = yield* AudioStoreFs.make(root)
      const duration = yield* store.write(taskId, "s1", speech)
      expect(duration).toBe(4 / 8000)
      const file = join(root, taskId, "s1.wav")
      expect(yield* store.locate(taskId, "s1")).toBe(file)
      expect(decodeWav(readFileSync(file))).toEqual(speech)
      // Written under a temporary name and renamed: nothing partial is left behind.
      expect(readdirSync(join(root, taskId))).toEqual(["s1.wav"])
    }).pipe(Effect.provide(NodeContext.layer))
  )

  it.effect("never writes or reads outside its root, and reports a missing file as AudioNotFound", () =>
    Effect.gen(function* () {
      const root = tempAudioDir()
      const store = yield* AudioStoreFs.make(root)
      for (const segmentId of ["../escape", "..", "a/b", "", "x".repeat(65)]) {
        const error = yield* Effect.flip(store.write(taskId, segmentId, speech))
        expect(error._tag).toBe("AudioStoreError")
        expect((yield* Effect.flip(store.locate(taskId, segmentId)))._tag).toBe("AudioNotFound")
      }
      expect(existsSync(join(root, "escape.wav"))).toBe(false)
      expect((yield* Effect.flip(store.locate(taskId, "never-written")))._tag).toBe("AudioNotFound")
    }).pipe(Effect.provide(NodeContext.layer))
  )
})
