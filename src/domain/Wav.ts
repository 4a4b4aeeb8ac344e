/** 16-bit PCM mono audio as an engine produces it. */
export interface Speech {
  readonly samples: Int16Array
  readonly sampleRate: number
}

const HEADER_BYTES = 44

/** Seconds of audio in `speech`. */
export const durationSeconds = (speech: Speech): number => speech.samples.length / speech.sampleRate

/** The size of `encodeWav(speech)`, without encoding it. */
export const wavBytes = (speech: Speech): number => HEADER_BYTES + speech.samples.length * 2

/** Encodes `speech` as a canonical RIFF/WAVE file: a 44-byte header, then little-endian 16-bit mono PCM. */
export const encodeWav = (speech: Speech): Uint8Array => {
  const dataBytes = speech.samples.length * 2
  const bytes = new Uint8Array(HEADER_BYTES + dataBytes)
  const view = new DataView(bytes.buffer)
  const ascii = (offset: number, text: string) => {
    for (let i = 0; i < text.length; i++) view.setUint8(offset + i, text.charCodeAt(i))
  }
  ascii(0, "RIFF")
  view.setUint32(4, 36 + dataBytes, true)
  ascii(8, "WAVE")
  ascii(12, "fmt ")
  view.setUint32(16, 16, true) // fmt chunk size
  view.setUint16(20, 1, true) // PCM
  view.setUint16(22, 1, true) // mono
  view.setUint32(24, speech.sampleRate, true)
  view.setUint32(28, speech.sampleRate * 2, true) // byte rate
  view.setUint16(32, 2, true) // block align
  view.setUint16(34, 16, true) // bits per sample
  ascii(36, "data")
  view.setUint32(40, dataBytes, true)
  for (let i = 0; i < speech.samples.length; i++) view.setInt16(HEADER_BYTES + i * 2, speech.samples[i]!, true)
  return bytes
}

/** Reads back what `encodeWav` wrote; `undefined` for anything that is not 16-bit mono PCM WAVE. */
export const decodeWav = (bytes: Uint8Array): Speech | undefined => {
  if (bytes.length < HEADER_BYTES) return undefined
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const text = (offset: number, length: number) => String.fromCharCode(...bytes.subarray(offset, offset + length))
  const ok =
    text(0, 4) === "RIFF" &&
    text(8, 4) === "WAVE" &&
    text(12, 4) === "fmt " &&
    view.getUint16(20, true) === 1 &&
    view.getUint16(22, true) === 1 &&
    view.getUint16(34, true) === 16 &&
    text(36, 4) === "data" &&
    view.getUint32(40, true) === bytes.length - HEADER_BYTES
  if (!ok) return undefined
  const samples = new Int16Array((bytes.length - HEADER_BYTES) / 2)
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(HEADER_BYTES + i * 2, true)
  return { samples, sampleRate: view.getUint32(24, true) }
}
