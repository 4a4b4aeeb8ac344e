import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Option, Redacted } from "effect"
import { RANDOM_BITS, TIME_BITS } from "../../../src/domain/TaskId.js"
import * as TaskIdsHmac from "../../../src/layers/ids/TaskIdsHmac.js"

const key = (first: number) => Redacted.make(Uint8Array.from({ length: 32 }, (_, i) => (first + i) % 256))
const keyA = key(0)
const keyB = key(100)

const bits = (n: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(n)) - 1n }).map(Number)

// A fixed sample of (time, random) pairs, so that the checks below are deterministic: with a 26-bit tag, a changed
// id carries a valid tag by chance once in 2^26, and a test that drew fresh ids on every run would fail that often.
const samples = fc.sample(fc.tuple(bits(TIME_BITS), bits(RANDOM_BITS)), { seed: 20261127, numRuns: 24 })

/** `id` with the bit at `index` (0 = the most significant of the 128) flipped, in canonical spelling. */
const flipBit = (id: string, index: number) => {
  const hex = id.replaceAll("-", "")
  const value = BigInt(`0x${hex}`) ^ (1n << BigInt(127 - index))
  const flipped = value.toString(16).padStart(32, "0")
  return [
    flipped.slice(0, 8),
    flipped.slice(8, 12),
    flipped.slice(12, 16),
    flipped.slice(16, 20),
    flipped.slice(20)
  ].join("-")
}

describe("TaskIdsHmac", () => {
  it.effect("issues ids that verify with their creation time, each one different", () =>
    Effect.gen(function* () {
      const ids = yield* TaskIdsHmac.make(keyA)
      for (const createdAt of [0, 1, 1_700_000_000_123, 2 ** TIME_BITS - 1]) {
        expect(ids.issuedAt(yield* ids.make(createdAt))).toEqual(Option.some(createdAt))
      }
      // Times a 48-bit field cannot hold are kept at its edges rather than wrapped around.
      expect(ids.issuedAt(yield* ids.make(-5))).toEqual(Option.some(0))
      const many = yield* Effect.replicateEffect(ids.make(42), 1000)
      expect(new Set(many).size).toBe(1000)
    })
  )

  it("signs HMAC-SHA256 over a label, the time and the random bits, as issued ids were signed before", () => {
    // Pinned: changing how ids are signed would turn every id already issued into "never issued".
    const id = TaskIdsHmac.signer(keyA).sign(1_700_000_000_000, 0x123456789abc)
    expect(id).toBe("018bcfe5-6800-8123-9159-e26af1e93e1d")
  })

  it("refuses an id with any one of its 128 bits flipped", () => {
    const { issuedAt, sign } = TaskIdsHmac.signer(keyA)
    for (const [createdAt, random] of samples) {
      const id = sign(createdAt, random)
      expect(issuedAt(id)).toEqual(Option.some(createdAt))
      for (let index = 0; index < 128; index++) expect(issuedAt(flipBit(id, index))).toEqual(Option.none())
    }
  })

  it("refuses ids signed under another key", () => {
    const a = TaskIdsHmac.signer(keyA)
    const b = TaskIdsHmac.signer(keyB)
    for (const [createdAt, random] of samples) {
      expect(b.issuedAt(a.sign(createdAt, random))).toEqual(Option.none())
      expect(a.issuedAt(b.sign(createdAt, random))).toEqual(Option.none())
    }
  })

  it.prop("refuses random UUIDs (v4, as issued before, and v7)", [fc.uuid({ version: [4, 7] })], ([uuid]) => {
    expect(TaskIdsHmac.signer(keyA).issuedAt(uuid)).toEqual(Option.none())
  })

  it.effect("an ephemeral layer's ids verify only under that layer", () =>
    Effect.gen(function* () {
      const first = yield* TaskIdsHmac.make(yield* TaskIdsHmac.randomKey)
      const second = yield* TaskIdsHmac.make(yield* TaskIdsHmac.randomKey)
      const id = yield* first.make(7)
      expect(first.issuedAt(id)).toEqual(Option.some(7))
      // Wrong once in 2^26 runs: a 26-bit tag matches under another key by chance that often.
      expect(second.issuedAt(id)).toEqual(Option.none())
    })
  )
})
