import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, Option, Schema } from "effect"
import { pack, RANDOM_BITS, TAG_BITS, TaskId, TIME_BITS, unpack } from "../../src/domain/TaskId.js"

/** A whole number of `bits` bits, drawn across the whole range (fast-check's integers stop at 32 bits). */
const bits = (n: number) => fc.bigInt({ min: 0n, max: (1n << BigInt(n)) - 1n }).map(Number)

const fields = fc.record({ createdAt: bits(TIME_BITS), random: bits(RANDOM_BITS), tag: bits(TAG_BITS) })

describe("TaskId layout", () => {
  it("fills the 122 free bits of a UUIDv8 exactly", () => {
    expect(TIME_BITS + RANDOM_BITS + TAG_BITS).toBe(128 - 4 - 2)
  })

  it.prop("unpacks to the fields it was packed from", [fields], ([f]) => {
    expect(unpack(pack(f))).toEqual(Option.some(f))
  })

  it.prop("is a valid UUIDv8 (RFC 9562): version 8, variant 10, accepted by Schema.UUID", [fields], ([f]) => {
    const id = pack(f)
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(Schema.is(Schema.UUID)(id)).toBe(true)
    expect(Schema.decodeUnknownOption(TaskId)(id)).toEqual(Option.some(id))
  })

  it.prop("starts with the creation time, as UUIDv7 does", [fields], ([f]) => {
    expect(parseInt(pack(f).replaceAll("-", "").slice(0, 12), 16)).toBe(f.createdAt)
  })

  it.prop("reads nothing from a UUID of another version, or from another spelling of its own", [fields], ([f]) => {
    const upper = pack(f).toUpperCase()
    // An id of decimal digits only is its own uppercase spelling.
    expect(unpack(upper)).toEqual(upper === pack(f) ? Option.some(f) : Option.none())
    fc.assert(
      fc.property(fc.uuid({ version: [1, 4, 7] }), (other) => Option.isNone(unpack(other))),
      { numRuns: 20 }
    )
  })

  it("refuses fields out of range rather than wrapping them around", () => {
    expect(() => pack({ createdAt: 2 ** TIME_BITS, random: 0, tag: 0 })).toThrow(RangeError)
    expect(() => pack({ createdAt: 0, random: -1, tag: 0 })).toThrow(RangeError)
    expect(() => pack({ createdAt: 0, random: 0, tag: 2 ** TAG_BITS })).toThrow(RangeError)
    expect(() => pack({ createdAt: 0.5, random: 0, tag: 0 })).toThrow(RangeError)
    expect(() => pack({ createdAt: 0, random: 2 ** RANDOM_BITS, tag: 0 })).toThrow(
      new RangeError(`Task id fields out of range: {"createdAt":0,"random":${2 ** RANDOM_BITS},"tag":0}`)
    )
  })
})
