import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { decodeWav, durationSeconds, encodeWav } from "../../src/domain/Wav.js"

describe("WAV encoding", () => {
  it("writes a canonical 16-bit mono PCM header", () => {
    const bytes = encodeWav({ samples: new Int16Array([1, -1, 32767, -32768]), sampleRate: 22050 })
    const view = new DataView(bytes.buffer)
    const text = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4))
    expect([text(0), text(8), text(12), text(36)]).toEqual(["RIFF", "WAVE", "fmt ", "data"])
    expect(view.getUint32(4, true)).toBe(36 + 8)
    expect([view.getUint16(20, true), view.getUint16(22, true), view.getUint16(34, true)]).toEqual([1, 1, 16])
    expect([view.getUint32(24, true), view.getUint32(28, true), view.getUint16(32, true)]).toEqual([22050, 44100, 2])
    expect(view.getUint32(40, true)).toBe(8)
    expect(bytes.length).toBe(52)
  })

  it.prop(
    "reads back exactly what it wrote, and the duration is samples over rate",
    [fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 500 }), fc.integer({ min: 8000, max: 48000 })],
    ([values, sampleRate]) => {
      const speech = { samples: Int16Array.from(values), sampleRate }
      const decoded = decodeWav(encodeWav(speech))
      expect(decoded).toEqual(speech)
      expect(durationSeconds(speech)).toBe(values.length / sampleRate)
    }
  )

  it("refuses what is not 16-bit mono PCM WAVE", () => {
    expect(decodeWav(new Uint8Array(10))).toBeUndefined()
    const bytes = encodeWav({ samples: new Int16Array(4), sampleRate: 8000 })
    bytes[22] = 2 // stereo
    expect(decodeWav(bytes)).toBeUndefined()
  })
})
