import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { Tombstone } from "../../../src/domain/RegistryState.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import * as EventLog from "../../../src/layers/registry/EventLog.js"

const id = TaskId.make("00000000-0000-4000-8000-000000000000")
const eviction = () => ({
  _tag: "Evicted" as const,
  tombstone: new Tombstone({ id, status: "COMPLETED", completedAt: 0, evictedAt: 1 }),
  cause: "age" as const,
  here: true
})
const ids = (events: Chunk.Chunk<{ readonly _tag: string; readonly id?: string }>) =>
  Chunk.toReadonlyArray(events).map((e) => e.id ?? e._tag)

describe("EventLog", () => {
  it.effect("resumes from an id its ring holds; an id older than the ring, or of another registry, gets Missed", () =>
    Effect.gen(function* () {
      const log = EventLog.make({ history: 3 })
      const heard = yield* log.events.pipe(Stream.take(5), Stream.runCollect, Effect.fork)
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      for (let i = 0; i < 5; i++) log.unsafePublish(eviction())
      const all = ids(yield* heard.await.pipe(Effect.flatten))
      // The ring holds the last three: resuming after the second is the last one it can do.
      expect(ids(yield* log.eventsAfter(all[1]!).pipe(Stream.take(3), Stream.runCollect))).toEqual(all.slice(2))
      expect(ids(yield* log.eventsAfter(all[0]!).pipe(Stream.take(1), Stream.runCollect))).toEqual(["Missed"])
      const other = EventLog.make()
      expect(ids(yield* other.eventsAfter(all[4]!).pipe(Stream.take(1), Stream.runCollect))).toEqual(["Missed"])
    })
  )

  it.effect("a reader whose buffer is full gets what it was given, then Missed, and ends; the writer never waits", () =>
    Effect.gen(function* () {
      const log = EventLog.make({ buffer: 2 })
      const pull = yield* Effect.fork(log.events.pipe(Stream.runCollect))
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      for (let i = 0; i < 10; i++) log.unsafePublish(eviction())
      const got = ids(yield* pull.await.pipe(Effect.flatten))
      expect(got.at(-1)).toBe("Missed")
      expect(got.length).toBeLessThanOrEqual(4)
    })
  )
})
