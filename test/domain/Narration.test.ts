import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { Narration, NarrationPayload } from "../../src/domain/Narration.js"
import { isSegmentId } from "../../src/domain/Segment.js"
import * as TaskKind from "../../src/domain/TaskKind.js"

const decode = Schema.decodeUnknownEither(NarrationPayload)

describe("the narration kind", () => {
  it("is named narration", () => {
    expect(Narration.name).toBe("narration")
  })

  it("decodes segments with the engine's voice and speed, or without them", () => {
    const payload = { segments: [{ segmentId: "intro_1", text: "Once upon a time" }], voice: "en-gb", speed: 1.25 }
    expect(decode(payload)).toEqual(Either.right(payload))
    // Absent stays absent (not a key set to undefined), so that the encoded payload is plain JSON.
    const bare = decode({ segments: [] })
    expect(bare).toEqual(Either.right({ segments: [] }))
    expect(Object.keys(Either.getOrThrow(bare))).toEqual(["segments"])
  })

  it("refuses a segment id that could not be a file name, and fields of the wrong type", () => {
    for (const segmentId of ["", "a/b", "../x", "a.wav", "x".repeat(65)]) {
      expect(Either.isLeft(decode({ segments: [{ segmentId, text: "hi" }] }))).toBe(true)
    }
    expect(Either.isLeft(decode({ segments: [{ segmentId: "s1" }] }))).toBe(true)
    expect(Either.isLeft(decode({ segments: [], voice: 1 }))).toBe(true)
    expect(Either.isLeft(decode({ segments: [], speed: "fast" }))).toBe(true)
    expect(Either.isLeft(decode({ segments: [], voice: undefined }))).toBe(true)
    expect(Either.isLeft(decode({ segments: [], speed: undefined }))).toBe(true)
  })

  it("makes one unit of progress per segment, and weighs its text in characters (code points)", () => {
    const payload = {
      segments: [
        { segmentId: "a", text: "héllo" },
        { segmentId: "b", text: "" },
        // Two UTF-16 units each, one character each.
        { segmentId: "c", text: "😀🎉" }
      ]
    }
    expect(Narration.total(payload)).toBe(3)
    expect(TaskKind.weightOf(Narration, payload)).toBe(7)
    expect(TaskKind.weightOf(Narration, { segments: [] })).toBe(0)
    expect(Narration.total({ segments: [] })).toBe(0)
  })
})

describe("segment ids", () => {
  it("are 1 to 64 letters, digits, _ or -", () => {
    for (const id of ["a", "Z", "0", "_", "-", "Intro_01-b", "x".repeat(64)]) expect(isSegmentId(id)).toBe(true)
  })

  it("are nothing else, anywhere in the id", () => {
    for (const id of ["", "x".repeat(65), "a b", "a.b", "a/b", "/ab", "ab/", ".ab", "ab.", "é", "ab\n", "\nab"]) {
      expect(isSegmentId(id)).toBe(false)
    }
  })
})
