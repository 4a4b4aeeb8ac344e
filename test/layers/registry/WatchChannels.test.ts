import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Either, Fiber, Ref, Stream } from "effect"
import * as Task from "../../../src/domain/Task.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import * as WatchChannels from "../../../src/layers/registry/WatchChannels.js"

// The channels through which a store tells watchers of a task's changes, alone: a record kept in a Ref stands for
// the store (its `get`), and each change is published as a store publishes it, in the same step.

const id = TaskId.make("00000000-0000-4000-8000-00000000000a")
const other = TaskId.make("00000000-0000-4000-8000-00000000000b")
const right = <A>(e: Either.Either<A, Task.InvalidTransition>): A => Either.getOrThrow(e)
const segment = new Task.CompletedSegment({ segmentId: "s", audioUrl: "/audio/x/s.wav", durationSeconds: 1 })

/** A store of one record of `total` segments, PENDING at version 1, whose changes are told through `channels`. */
const store = (total: number) =>
  Effect.gen(function* () {
    const channels = yield* WatchChannels.make
    const record = yield* Ref.make<Task.Task>(Task.pending({ id, kind: "test", payload: {}, total, createdAt: 0 }))
    const change = (f: (t: Task.Task) => Either.Either<Task.Task, Task.InvalidTransition>) =>
      Ref.modify(record, (t) => {
        const next = right(f(t))
        channels.unsafePublish(next)
        return [next, next]
      })
    const start = change(Task.start(1, "claim"))
    const report = change(Task.segmentDone(segment))
    const complete = change(Task.complete(2))
    return { channels, record, change, start, report, complete, get: () => Ref.get(record) }
  })

const versions = (tasks: Chunk.Chunk<Task.Task>) => Chunk.toReadonlyArray(tasks).map((t) => t.version)

/** Until the channels count `n` watchers. */
const watchersAre = (channels: Effect.Effect.Success<typeof WatchChannels.make>, n: number) =>
  Effect.repeat(channels.watchers, { until: (count) => count === n })

describe("WatchChannels", () => {
  it.effect("gives a watcher the current snapshot, then each change in order, ending after the terminal one", () =>
    Effect.gen(function* () {
      const s = yield* store(3)
      const watching = yield* Effect.fork(Stream.runCollect(s.channels.watch(id, s.get)))
      yield* watchersAre(s.channels, 1)
      yield* s.start
      for (let i = 0; i < 3; i++) yield* s.report
      yield* s.complete
      const seen = yield* Fiber.join(watching)
      expect(versions(seen)).toEqual([1, 2, 3, 4, 5, 6])
      expect(Chunk.unsafeLast(seen)._tag).toBe("COMPLETED")
      expect(yield* s.channels.watchers).toBe(0)
    })
  )

  it.effect("never repeats a snapshot the watcher has, nor one older than it has", () =>
    Effect.gen(function* () {
      const s = yield* store(2)
      const watching = yield* Effect.fork(Stream.runCollect(s.channels.watch(id, s.get)))
      yield* watchersAre(s.channels, 1)
      // The snapshot it read first, told again; then a change, told twice, and an older one after it.
      s.channels.unsafePublish(yield* s.get())
      const started = yield* s.start
      s.channels.unsafePublish(started)
      const reported = yield* s.report
      s.channels.unsafePublish(started)
      s.channels.unsafePublish(reported)
      yield* s.complete
      expect(versions(yield* Fiber.join(watching))).toEqual([1, 2, 3, 4])
    })
  )

  it.effect("a watcher that falls behind reads the record again: versions only grow, and the terminal one comes", () =>
    Effect.gen(function* () {
      const s = yield* store(300)
      const reading = yield* Deferred.make<void>()
      const seen: Array<Task.Task> = []
      const watching = yield* Effect.fork(
        Stream.runForEach(s.channels.watch(id, s.get), (t) =>
          Effect.zipRight(
            Effect.sync(() => seen.push(t)),
            Deferred.await(reading)
          )
        )
      )
      yield* Effect.repeat(
        Effect.sync(() => seen.length),
        { until: (n) => n === 1 }
      )
      // Stalled on its first snapshot while 301 changes are made: far more than its buffer holds.
      yield* s.start
      for (let i = 0; i < 300; i++) yield* s.report
      yield* s.complete
      yield* Deferred.succeed(reading, undefined)
      yield* Fiber.join(watching)
      const got = seen.map((t) => t.version)
      expect(got.every((v, i) => i === 0 || v > got[i - 1]!)).toBe(true)
      expect(seen.at(-1)).toMatchObject({ _tag: "COMPLETED", version: 303 })
      expect(got.length).toBeLessThan(303)
    })
  )

  it.effect("a watcher that falls behind on snapshots it already has does not get the current one twice", () =>
    Effect.gen(function* () {
      const s = yield* store(1)
      const reading = yield* Deferred.make<void>()
      const seen: Array<number> = []
      let reads = 0
      const get = () =>
        Effect.zipRight(
          Effect.sync(() => reads++),
          s.get()
        )
      const watching = yield* Effect.fork(
        Stream.runForEach(s.channels.watch(id, get), (t) =>
          Effect.zipRight(
            Effect.sync(() => seen.push(t.version)),
            Deferred.await(reading)
          )
        )
      )
      yield* Effect.repeat(
        Effect.sync(() => seen.length),
        { until: (n) => n === 1 }
      )
      // The snapshot it has, told more times than its buffer holds: it falls behind, reads the record again, and
      // finds nothing newer than what it has.
      const current = yield* s.get()
      for (let i = 0; i < WatchChannels.WATCH_BUFFER + 2; i++) s.channels.unsafePublish(current)
      yield* Deferred.succeed(reading, undefined)
      // Two reads to start, two more to start again (the record, subscribed, then the record again).
      yield* Effect.repeat(
        Effect.sync(() => reads),
        { until: (n) => n === 4 }
      )
      yield* watchersAre(s.channels, 1)
      yield* s.start
      yield* s.report
      yield* s.complete
      yield* Fiber.join(watching)
      expect(seen).toEqual([1, 2, 3, 4])
    })
  )

  it.effect("a task that finishes between the two reads ends the watch with its terminal snapshot", () =>
    Effect.gen(function* () {
      const s = yield* store(1)
      const pending = yield* s.get()
      yield* s.start
      const done = yield* s.complete
      // The first read finds it PENDING, the second (after subscribing) COMPLETED.
      let reads = 0
      const get = () => Effect.sync(() => (reads++ === 0 ? pending : done))
      const seen = yield* Stream.runCollect(s.channels.watch(id, get)).pipe(Effect.timeout("1 second"))
      expect(versions(seen)).toEqual([3])
      expect(yield* s.channels.watchers).toBe(0)
    })
  )

  it.effect("a finished task is its own last snapshot: no subscription", () =>
    Effect.gen(function* () {
      const s = yield* store(1)
      yield* s.start
      yield* s.complete
      expect(versions(yield* Stream.runCollect(s.channels.watch(id, s.get)))).toEqual([3])
    })
  )

  it.scoped("counts watchers per task and over all, and drops a task's channel with its last watcher", () =>
    Effect.gen(function* () {
      const s = yield* store(1)
      const seenOfOther: Array<number> = []
      const watch = (task: typeof id) =>
        Effect.fork(
          Stream.runForEach(
            s.channels.watch(task, () => Effect.map(s.get(), (t) => ({ ...t, id: task }))),
            (t) => Effect.sync(() => t.id === other && seenOfOther.push(t.version))
          )
        )
      const a1 = yield* watch(id)
      const a2 = yield* watch(id)
      const b = yield* watch(other)
      yield* watchersAre(s.channels, 3)
      expect(s.channels.unsafeIsWatched(id)).toBe(true)
      expect(s.channels.unsafeIsWatched(other)).toBe(true)
      expect((yield* s.channels.watched).sort()).toEqual([id, other].sort())
      yield* Fiber.interrupt(a1)
      expect(yield* s.channels.watchers).toBe(2)
      expect(s.channels.unsafeIsWatched(id)).toBe(true)
      yield* Fiber.interrupt(a2)
      expect(yield* s.channels.watchers).toBe(1)
      expect(s.channels.unsafeIsWatched(id)).toBe(false)
      expect(yield* s.channels.watched).toEqual([other])
      // A change of a task nobody watches goes nowhere; `publish` tells the watchers of one that is watched.
      yield* s.channels.publish({ ...(yield* s.get()), id: other, version: 9 } as Task.Task)
      yield* Effect.repeat(
        Effect.sync(() => seenOfOther.length),
        { until: (n) => n === 2, times: 1000 }
      )
      expect(seenOfOther).toEqual([1, 9])
      yield* Fiber.interrupt(b)
      expect(yield* s.channels.watchers).toBe(0)
      expect(s.channels.unsafeIsWatched(other)).toBe(false)
    })
  )
})
