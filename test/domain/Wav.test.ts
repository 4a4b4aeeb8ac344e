import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import { decodeWav, durationSeconds, encodeWav, wavBytes } from "../../src/domain/Wav.js"

const speechOf = (values: ReadonlyArray<number>, sampleRate: number) => ({
  samples: Int16Array.from(values),
  sampleRate
})

describe("WAV encoding", () => {
  it("writes a canonical 16-bit mono PCM header", () => {
    const bytes = encodeWav({ samples: new Int16Array([1, -1, 32767, -32768]), sampleRate: 22050 })
    const view = new DataView(bytes.buffer)
    const text = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4))
    expect([text(0), text(8), text(12), text(36)]).toEqual(["RIFF", "WAVE", "fmt ", "data"])
    expect(view.getUint32(4, true)).toBe(36 + 8)
    expect(view.getUint32(16, true)).toBe(16)
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

  it.prop(
    "knows the size of what it writes without writing it",
    [fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 8000, max: 48000 })],
    ([length, sampleRate]) => {
      const speech = { samples: new Int16Array(length), sampleRate }
      expect(wavBytes(speech)).toBe(encodeWav(speech).length)
      expect(wavBytes(speech)).toBe(44 + 2 * length)
    }
  )

  it("refuses what is not 16-bit mono PCM WAVE", () => {
    expect(decodeWav(new Uint8Array(10))).toBeUndefined()
    const bytes = encodeWav({ samples: new Int16Array(4), sampleRate: 8000 })
    bytes[22] = 2 // stereo
    expect(decodeWav(bytes)).toBeUndefined()
  })

  describe("refuses a header with any one field wrong", () => {
    const speech = { samples: new Int16Array([5, -5, 300]), sampleRate: 16000 }
    const spoiled = (offset: number, value: number) => {
      const bytes = encodeWav(speech)
      bytes[offset] = value
      return bytes
    }
    it.each([
      ["RIFF", 0, 0x58],
      ["RIFF, last letter", 3, 0x58],
      ["WAVE", 8, 0x58],
      ["WAVE, last letter", 11, 0x58],
      ["fmt ", 12, 0x58],
      ["fmt , the space", 15, 0x58],
      ["format (3: float)", 20, 3],
      ["channels (2)", 22, 2],
      ["bits per sample (8)", 34, 8],
      ["data", 36, 0x58],
      ["data, last letter", 39, 0x58],
      ["data size, one sample short", 40, 4],
      ["data size, one sample more", 40, 8]
    ])("%s", (_, offset, value) => {
      expect(decodeWav(encodeWav(speech))).toEqual(speech)
      expect(decodeWav(spoiled(offset, value))).toBeUndefined()
    })

    it("a data size that does not match the bytes that follow", () => {
      const bytes = encodeWav(speech)
      expect(decodeWav(bytes.slice(0, bytes.length - 2))).toBeUndefined()
      const longer = new Uint8Array(bytes.length + 2)
      longer.set(bytes)
      expect(decodeWav(longer)).toBeUndefined()
    })

    it("a header cut short, even one right up to its last byte", () => {
      const header = encodeWav({ samples: new Int16Array(0), sampleRate: 16000 })
      for (let length = 0; length < header.length; length++) {
        expect(decodeWav(header.slice(0, length))).toBeUndefined()
      }
      expect(decodeWav(header)).toEqual({ samples: new Int16Array(0), sampleRate: 16000 })
    })
  })

  it("reads a file that sits inside a larger buffer", () => {
    const bytes = encodeWav(speechOf([7, -7], 11025))
    const buffer = new Uint8Array(bytes.length + 6)
    buffer.set(bytes, 3)
    expect(decodeWav(buffer.subarray(3, 3 + bytes.length))).toEqual(speechOf([7, -7], 11025))
  })
})
