import { FileSystem } from "@effect/platform"
import { SystemError } from "@effect/platform/Error"
import { NodeContext, NodeFileSystem, NodePath } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Logger, Queue, TestClock } from "effect"
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { TaskId } from "../../../src/domain/TaskId.js"
import { decodeWav } from "../../../src/domain/Wav.js"
import * as AudioStoreFs from "../../../src/layers/audio/AudioStoreFs.js"
import { tempAudioDir } from "../../support/http.js"

const taskId = TaskId.make("3f0c2a9e-1b7d-4c55-9d0e-2a6b8f1c4d3e")
const speech = { samples: new Int16Array([0, 100, -100, 0]), sampleRate: 8000 }

/** The real file system, except `writeFile`, which `override` builds from the real one. */
const fileSystemWith = (override: (real: FileSystem.FileSystem) => FileSystem.FileSystem["writeFile"]) =>
  Layer.merge(
    Layer.effect(
      FileSystem.FileSystem,
      Effect.map(FileSystem.FileSystem, (real) => FileSystem.FileSystem.of({ ...real, writeFile: override(real) }))
    ).pipe(Layer.provide(NodeFileSystem.layer)),
    NodePath.layer
  )

/** What Node answers when the disk fills up part-way through a write: its message names the absolute path. */
const diskFull = (path: string) =>
  new SystemError({
    reason: "Unknown",
    module: "FileSystem",
    method: "writeFile",
    pathOrDescriptor: path,
    description: `ENOSPC: no space left on device, write '${path}'`,
    cause: Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), {
      code: "ENOSPC",
      errno: -28,
      syscall: "write",
      path
    })
  })

/** A logger that hands each message to the test as it is logged, so that a test can wait for a background fiber. */
const logQueue = Effect.map(Queue.unbounded<string>(), (queue) => ({
  queue,
  layer: Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => {
      Queue.unsafeOffer(queue, Array.isArray(message) ? message.map(String).join(" ") : String(message))
    })
  )
}))

describe("AudioStoreFs", () => {
  it.scoped("writes {task_id}/{segment_id}.wav under its root and finds it again", () =>
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

  it.scoped("never writes or reads outside its root, and reports a missing file as AudioNotFound", () =>
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

  it.scoped(
    "a write that fails part-way leaves no partial file, and its message says what failed, not where",
    () =>
      Effect.gen(function* () {
        const root = tempAudioDir()
        const store = yield* AudioStoreFs.make(root)
        const error = yield* Effect.flip(store.write(taskId, "s1", speech))
        expect(error.message).toBe("Could not write the audio file for segment s1: no space left on device (ENOSPC)")
        expect(readdirSync(join(root, taskId))).toEqual([])
      }).pipe(
        Effect.provide(
          fileSystemWith(
            (real) => (path, data) =>
              // Half of the file reaches the disk before it fills up, as with a real ENOSPC.
              Effect.zipRight(real.writeFile(path, data.subarray(0, data.length / 2)), Effect.fail(diskFull(path)))
          )
        )
      ),
    5_000
  )

  it.scoped(
    "a directory it cannot create is reported without the server's path",
    () =>
      Effect.gen(function* () {
        const parent = tempAudioDir()
        const root = join(parent, "not-a-directory")
        writeFileSync(root, "")
        const store = yield* AudioStoreFs.make(root)
        const error = yield* Effect.flip(store.write(taskId, "s1", speech))
        expect(error.message).toBe("Could not write the audio file for segment s1: not a directory (ENOTDIR)")
        expect(error.message).not.toContain(parent)
      }).pipe(Effect.provide(NodeContext.layer)),
    5_000
  )

  it.scoped(
    "a write interrupted part-way leaves neither a partial file nor a WAV",
    () =>
      Effect.gen(function* () {
        const root = tempAudioDir()
        const halfWritten = yield* Deferred.make<void>()
        const diskResumes = yield* Deferred.make<void>()
        const store = yield* AudioStoreFs.make(root).pipe(
          Effect.provide(
            fileSystemWith(
              (real) => (path, data) =>
                real
                  .writeFile(path, data.subarray(0, data.length / 2))
                  .pipe(
                    Effect.zipRight(Deferred.succeed(halfWritten, undefined)),
                    Effect.zipRight(Deferred.await(diskResumes)),
                    Effect.zipRight(real.writeFile(path, data))
                  )
            )
          )
        )
        const writing = yield* Effect.fork(store.write(taskId, "s1", speech))
        yield* Deferred.await(halfWritten)
        yield* Fiber.interruptFork(writing)
        yield* Deferred.succeed(diskResumes, undefined)
        const exit = yield* Fiber.await(writing)
        expect(Exit.isInterrupted(exit)).toBe(true)
        expect(readdirSync(join(root, taskId))).toEqual([])
      }),
    5_000
  )

  it.scoped(
    "removes partial files left by an earlier run: old ones at start-up, recent ones a minute later",
    () =>
      Effect.gen(function* () {
        const root = tempAudioDir()
        const now = Date.parse("2026-03-01T12:00:00Z")
        const place = (relative: string, ageSeconds: number) => {
          const file = join(root, relative)
          mkdirSync(join(file, ".."), { recursive: true })
          writeFileSync(file, "RIFF")
          utimesSync(file, (now - ageSeconds * 1000) / 1000, (now - ageSeconds * 1000) / 1000)
          return file
        }
        const crashedLongAgo = place("task-a/s1.wav.partial", 3600)
        const finished = place("task-a/s2.wav", 3600)
        // Possibly a write in progress in another process that shares AUDIO_DIR, so it is given a minute.
        const recent = place("task-b/s1.wav.partial", 10)
        writeFileSync(join(root, "not-a-task"), "")
        yield* TestClock.setTime(now)
        const logs = yield* logQueue

        yield* AudioStoreFs.make(root).pipe(Effect.provide(logs.layer))
        expect(yield* Queue.take(logs.queue)).toBe("Removed 1 unfinished audio file(s)")
        expect([existsSync(crashedLongAgo), existsSync(recent), existsSync(finished)]).toEqual([false, true, true])

        // The second pass sleeps on the clock; move it only once that sleep is registered.
        while ((yield* TestClock.sleeps()).length === 0) yield* Effect.yieldNow()
        yield* TestClock.adjust("1 minute")
        expect(yield* Queue.take(logs.queue)).toBe("Removed 1 unfinished audio file(s)")
        expect([existsSync(recent), existsSync(finished)]).toEqual([false, true])
      }).pipe(Effect.provide(NodeContext.layer)),
    5_000
  )
})
