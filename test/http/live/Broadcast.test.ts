import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option, Queue, Stream } from "effect"
import type { Readable } from "node:stream"
import * as Broadcast from "../../../src/http/live/Broadcast.js"
import { eventually, within } from "../../support/registry.js"

const utf8 = new TextEncoder()
const text = new TextDecoder()

/** Reads a subscriber's frames as they come, as the platform's pipe to a socket would. */
const reading = (readable: Readable) => {
  const frames: Array<string> = []
  const done = new Promise<void>((resolve) => {
    readable.on("end", resolve)
    readable.on("close", resolve)
  })
  readable.on("data", (frame: Uint8Array) => frames.push(text.decode(frame)))
  return {
    frames,
    done: within(
      10,
      "the subscriber's stream did not end",
      Effect.promise(() => done)
    )
  }
}

/** Lets node's own queued work run (a reader's stream starts flowing on the next tick). */
const tick = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** The numbers offered to `input`, ending at the first negative one. */
const until = (input: Queue.Queue<number>) => Stream.fromQueue(input).pipe(Stream.takeWhile((n) => n >= 0))

/** A broadcast of numbers whose frames are their digits, counting how many times it encodes. */
const numbers = (upstream: Stream.Stream<number>, options: { capacity?: number; initial?: number } = {}) =>
  Effect.gen(function* () {
    const encoded = { count: 0 }
    const broadcast = yield* Broadcast.make(upstream, {
      encode: (n: number) => {
        encoded.count++
        return utf8.encode(String(n))
      },
      capacity: options.capacity ?? 8,
      ...(options.initial === undefined ? {} : { initial: options.initial })
    })
    return { broadcast, encoded }
  })

/** The latest frame first, if there is one. */
const latestFirst: Broadcast.First<number> = (latest) =>
  Option.match(latest, { onNone: () => [], onSome: ([, frame]) => [frame] })

describe("Broadcast", () => {
  it.scoped("ends a subscriber that stopped reading, and the others go on with every frame", () =>
    Effect.gen(function* () {
      const input = yield* Queue.unbounded<number>()
      const { broadcast } = yield* numbers(until(input), { capacity: 8 })
      const stalled = yield* broadcast.join(latestFirst)
      const live = reading(yield* broadcast.join(latestFirst))
      const other = reading(yield* broadcast.join(latestFirst))
      expect(yield* broadcast.size).toBe(3)
      yield* tick
      for (let n = 1; n <= 100; n++) yield* Queue.offer(input, n)
      yield* eventually(
        Effect.sync(() => other.frames.length),
        (n) => n === 100
      )
      // The stalled one held at most its capacity, then was ended and dropped; the readers got all, in order.
      expect(stalled.destroyed).toBe(true)
      expect(stalled.readableLength).toBeLessThanOrEqual(8)
      expect(yield* broadcast.size).toBe(2)
      const all = Array.from({ length: 100 }, (_, i) => String(i + 1))
      expect(live.frames).toEqual(all)
      expect(other.frames).toEqual(all)
      yield* Queue.offer(input, -1)
      yield* live.done
      yield* other.done
    })
  )

  it.scoped("encodes each item once, however many subscribers there are", () =>
    Effect.gen(function* () {
      const input = yield* Queue.unbounded<number>()
      const { broadcast, encoded } = yield* numbers(until(input), { initial: 0, capacity: 64 })
      expect(encoded.count).toBe(1)
      const readers = yield* Effect.forEach(Array.from({ length: 50 }), () =>
        Effect.map(broadcast.join(latestFirst), reading)
      )
      yield* tick
      for (let n = 1; n <= 20; n++) yield* Queue.offer(input, n)
      yield* eventually(
        Effect.sync(() => readers.every((r) => r.frames.length === 21)),
        (all) => all
      )
      // The initial item and twenty more, each encoded once for fifty subscribers; joiners share the latest frame.
      expect(encoded.count).toBe(21)
      expect(readers[49]!.frames).toEqual(Array.from({ length: 21 }, (_, i) => String(i)))
    })
  )

  it.scoped("gives a joiner the latest item, then every later one in order: none lost between, none twice", () =>
    Effect.gen(function* () {
      const last = 3000
      // Items come with a yield between them, so that joiners land between any two.
      const upstream = Stream.range(1, last).pipe(Stream.tap(() => Effect.yieldNow()))
      const { broadcast } = yield* numbers(upstream, { initial: 0, capacity: last + 1 })
      const joiners = yield* Effect.forEach(
        Array.from({ length: 40 }, (_, i) => i * 70),
        (delay) =>
          Effect.fork(
            Effect.gen(function* () {
              for (let i = 0; i < delay; i++) yield* Effect.yieldNow()
              return reading(yield* broadcast.join(latestFirst))
            })
          ),
        { concurrency: "unbounded" }
      )
      const readers = yield* Effect.forEach(joiners, Fiber.join)
      yield* Effect.forEach(readers, (r) => r.done)
      const firsts = new Set<number>()
      for (const { frames } of readers) {
        const values = frames.map(Number)
        const first = values[0]!
        firsts.add(first)
        expect(values).toEqual(Array.from({ length: last - first + 1 }, (_, i) => first + i))
      }
      // The joiners did join at different points, not all before the first item or after the last.
      expect(firsts.size).toBeGreaterThan(5)
    })
  )

  it.scoped("ends a joiner after the end at once, with the latest item", () =>
    Effect.gen(function* () {
      const { broadcast } = yield* numbers(Stream.make(1, 2, 3))
      yield* eventually(Effect.zipRight(tick, broadcast.latest), (latest) => Option.getOrUndefined(latest) === 3)
      const late = reading(yield* broadcast.join(latestFirst))
      yield* late.done
      expect(late.frames).toEqual(["3"])
    })
  )

  it.scoped("keeps items a subscriber does not accept from it", () =>
    Effect.gen(function* () {
      const input = yield* Queue.unbounded<number>()
      const { broadcast } = yield* numbers(until(input), { initial: 0 })
      const even = reading(
        yield* broadcast.join(
          () => [],
          (n) => n % 2 === 0
        )
      )
      for (let n = 1; n <= 6; n++) yield* Queue.offer(input, n)
      yield* Queue.offer(input, -1)
      yield* even.done
      expect(even.frames).toEqual(["2", "4", "6"])
    })
  )
})
