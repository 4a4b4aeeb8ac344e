import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Stream, TestClock } from "effect"
import { Tombstone } from "../../../src/domain/RegistryState.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import * as EventLog from "../../../src/layers/registry/EventLog.js"
import type { RegistryEvent } from "../../../src/services/TaskRegistry.js"

const id = TaskId.make("00000000-0000-4000-8000-000000000000")
const eviction = () => ({
  _tag: "Evicted" as const,
  tombstone: new Tombstone({ id, status: "COMPLETED", completedAt: 0, evictedAt: 1 }),
  cause: "age" as const,
  here: true
})
const ids = (events: Chunk.Chunk<{ readonly _tag: string; readonly id?: string }>) =>
  Chunk.toReadonlyArray(events).map((e) => e.id ?? e._tag)

/** The ids (or tags) `stream` gives, at most `n`, before it has waited a second (simulated) for more. */
const heard = <E>(stream: Stream.Stream<{ readonly _tag: string; readonly id?: string }, E>, n: number) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(stream.pipe(Stream.take(n), Stream.interruptAfter("1 second"), Stream.runCollect))
    yield* TestClock.adjust("1 second")
    return ids(yield* Fiber.join(fiber))
  })

/** A log with `n` events published, and their ids. */
const published = (n: number, options?: Parameters<typeof EventLog.make>[0]) =>
  Effect.gen(function* () {
    const log = EventLog.make(options)
    const reader = yield* Effect.fork(log.events.pipe(Stream.take(n), Stream.runCollect))
    yield* Effect.repeatN(Effect.yieldNow(), 20)
    for (let i = 0; i < n; i++) log.unsafePublish(eviction())
    return { log, all: ids(yield* Fiber.join(reader)) }
  })

/** An event with id `n`, for `resume`, whose ids are compared by `numeric`. */
const event = (n: number): RegistryEvent => ({ ...eviction(), id: String(n) })
const numeric = (id: string, last: string) => Number(id) > Number(last)

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
  it.effect("ids are the registry's epoch, a dash and 1, 2, 3 …; another registry's ids are not resumed from", () =>
    Effect.gen(function* () {
      const { all } = yield* published(3)
      const epoch = all[0]!.slice(0, all[0]!.lastIndexOf("-"))
      expect(epoch).toMatch(/^e[0-9a-z]{1,8}$/)
      expect(all).toEqual([`${epoch}-1`, `${epoch}-2`, `${epoch}-3`])
      // Another registry, at the same point of its own sequence, does not take these ids for its own.
      const other = yield* published(3)
      expect(other.all).not.toEqual(all)
      expect(yield* heard(other.log.eventsAfter(all[0]!), 3)).toEqual(["Missed"])
      expect(yield* heard(other.log.eventsAfter(other.all[0]!), 3)).toEqual(other.all.slice(1))
    })
  )

  it.effect("resuming after `{epoch}-0` gives every event the ring holds; ids it never issued get Missed", () =>
    Effect.gen(function* () {
      const { all, log } = yield* published(3)
      const epoch = all[0]!.slice(0, all[0]!.lastIndexOf("-"))
      expect(yield* heard(log.eventsAfter(`${epoch}-0`), 4)).toEqual(all)
      expect(yield* heard(log.eventsAfter(`${epoch}-3`), 1)).toEqual([])
      for (const id of [`${epoch}-4`, `${epoch}-99`, `${epoch}--1`, `${epoch}-1.5`, `${epoch}-x`, epoch, "", "3"]) {
        expect([id, yield* heard(log.eventsAfter(id), 2)]).toEqual([id, ["Missed"]])
      }
    })
  )

  it.effect("a resumed reader that falls behind gets Missed, and ends", () =>
    Effect.gen(function* () {
      const { all, log } = yield* published(1, { buffer: 2 })
      const reader = yield* Effect.fork(log.eventsAfter(all[0]!).pipe(Stream.runCollect))
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      for (let i = 0; i < 10; i++) log.unsafePublish(eviction())
      const got = ids(yield* Fiber.join(reader))
      expect(got.at(-1)).toBe("Missed")
      expect(got.slice(0, -1)).toEqual(got.slice(0, -1).map((_, i) => all[0]!.replace(/-1$/, `-${i + 2}`)))
    })
  )

  it.effect("a reader resuming while events are published gets each of them once, in order", () =>
    Effect.gen(function* () {
      // The runtime lets other fibers run every so many steps: at some of these rates the writer publishes between
      // the reader's subscribing and its reading of the history, so that the live events repeat the history's last.
      for (let steps = 12; steps <= 40; steps++) {
        const { all, log } = yield* published(1)
        // Bounded: a reader that subscribed late (it may, at other rates) ends after a simulated second.
        const reader = yield* Effect.fork(
          log
            .eventsAfter(all[0]!)
            .pipe(
              Stream.take(20),
              Stream.interruptAfter("1 second"),
              Stream.runCollect,
              Effect.withMaxOpsBeforeYield(steps)
            )
        )
        for (let i = 0; i < 30; i++) {
          log.unsafePublish(eviction())
          yield* Effect.yieldNow()
        }
        yield* TestClock.adjust("1 second")
        const got = ids(yield* Fiber.join(reader))
        expect(got.length).toBeGreaterThan(0)
        expect([steps, got]).toEqual([steps, got.map((_, i) => all[0]!.replace(/-1$/, `-${i + 2}`))])
      }
    })
  )

  it.effect("`resume` gives the history, then the live events after its last, and Missed wherever it comes", () =>
    Effect.gen(function* () {
      const live = Stream.make(event(2), event(3), event(4), { _tag: "Missed" } as const)
      const resumed = (held: ReadonlyArray<RegistryEvent> | undefined, from: number) =>
        Effect.map(Stream.runCollect(EventLog.resume(live, held, numeric, String(from))), ids)
      expect(yield* resumed([event(2), event(3)], 1)).toEqual(["2", "3", "4", "Missed"])
      expect(yield* resumed([event(1), event(2), event(3)], 0)).toEqual(["1", "2", "3", "4", "Missed"])
      // Nothing held after the id: the live events after it.
      expect(yield* resumed([], 3)).toEqual(["4", "Missed"])
      // A history that ends with Missed: the live events after the id resumed from.
      expect(yield* resumed([{ _tag: "Missed" }], 3)).toEqual(["Missed", "4", "Missed"])
      // No history: Missed, then every live event.
      expect(yield* resumed(undefined, 3)).toEqual(["Missed", "2", "3", "4", "Missed"])
    })
  )
})
