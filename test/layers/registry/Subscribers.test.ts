import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Scope, Stream } from "effect"
import * as Subscribers from "../../../src/layers/registry/Subscribers.js"

/** A reader of `subscribers` in a scope of its own, collecting what it is given until its stream ends. */
const reader = (subscribers: Subscribers.Subscribers<number>) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const stream = yield* Scope.extend(subscribers.subscribe("missed" as const), scope)
    const fiber = yield* Effect.fork(Stream.runCollect(stream))
    yield* Effect.repeatN(Effect.yieldNow(), 5)
    return { scope, got: Effect.map(Fiber.join(fiber), Chunk.toReadonlyArray) }
  })

describe("Subscribers", () => {
  it.effect("`size` counts the readers; one whose scope has closed is no longer one", () =>
    Effect.gen(function* () {
      const subscribers = Subscribers.make<number>(10)
      expect(subscribers.size()).toBe(0)
      const a = yield* reader(subscribers)
      const b = yield* reader(subscribers)
      expect(subscribers.size()).toBe(2)
      subscribers.publish(1)
      yield* Scope.close(a.scope, Exit.void)
      expect(subscribers.size()).toBe(1)
      subscribers.publish(2)
      subscribers.missAll()
      expect(yield* b.got).toEqual([1, 2, "missed"])
    })
  )

  it.effect("`missAll` gives every reader what it was given, then `missed`, and ends it", () =>
    Effect.gen(function* () {
      const subscribers = Subscribers.make<number>(10)
      const a = yield* reader(subscribers)
      subscribers.publish(1)
      const b = yield* reader(subscribers)
      subscribers.publish(2)
      subscribers.missAll()
      expect(subscribers.size()).toBe(0)
      // Published to nobody: the readers have ended.
      subscribers.publish(3)
      expect([yield* a.got, yield* b.got]).toEqual([
        [1, 2, "missed"],
        [2, "missed"]
      ])
      // A reader from now on is one again.
      const c = yield* reader(subscribers)
      expect(subscribers.size()).toBe(1)
      subscribers.publish(4)
      subscribers.missAll()
      expect(yield* c.got).toEqual([4, "missed"])
    })
  )
  it.effect("a reader with `capacity` items unread when another comes gets them, then `missed`, and is dropped", () =>
    Effect.gen(function* () {
      const subscribers = Subscribers.make<number>(2)
      const slow = yield* reader(subscribers)
      // 1 goes to the reader, which waits for it; 2 and 3 fill its buffer of two; 4 finds it full.
      for (const item of [1, 2, 3, 4, 5]) subscribers.publish(item)
      expect(subscribers.size()).toBe(0)
      expect(yield* slow.got).toEqual([1, 2, 3, "missed"])
    })
  )
})
