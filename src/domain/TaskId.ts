import { Option, Schema } from "effect"

/**
 * A task's identifier: a UUID, branded so that no other string can be passed where a task id is due. The ids this
 * service issues are UUIDv8 (RFC 9562, custom) laid out by `pack`; any UUID is accepted as input, so that an id
 * this service never issued is answered "not found" rather than refused as malformed.
 */
export const TaskId = Schema.UUID.pipe(Schema.brand("TaskId"))
export type TaskId = typeof TaskId.Type

/** Bits of creation time: milliseconds since the Unix epoch, as in UUIDv7 (enough until the year 10889). */
export const TIME_BITS = 48
/** Bits of fresh randomness: what makes two ids created in the same millisecond differ. */
export const RANDOM_BITS = 48
/** Bits of the truncated keyed signature over the time and the random bits. */
export const TAG_BITS = 26

/**
 * What an issued id carries. Each field is a whole number below 2 to the power of its width, so that all three fit
 * a JavaScript number exactly.
 */
export interface TaskIdFields {
  readonly createdAt: number
  readonly random: number
  readonly tag: number
}

// 128 bits, most significant first: time (48) | version 0b1000 (4) | random, high 12 | variant 0b10 (2) |
// random, low 36 | tag (26). 48 + 4 + 12 + 2 + 36 + 26 = 128: the 122 bits a UUIDv8 leaves free hold
// 48 + 48 + 26.
const RANDOM_LOW_BITS = 36n
const VERSION = 0x8n
const VARIANT = 0b10n

const mask = (bits: number | bigint) => (1n << BigInt(bits)) - 1n

const fits = (value: number, bits: number) => Number.isSafeInteger(value) && value >= 0 && value < 2 ** bits

// The canonical text of an issued id: lowercase, version 8, variant 10. Only this spelling is read back, so that an
// id in another spelling (which the registry would not find under that spelling either) is never said to be ours.
const ISSUED = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/**
 * The id that carries `fields`. A field out of its range is a defect of the caller (ids are made by the service
 * that owns the key, from the clock and a random source it bounds itself), so it throws rather than wraps around.
 */
export const pack = (fields: TaskIdFields): TaskId => {
  if (!fits(fields.createdAt, TIME_BITS) || !fits(fields.random, RANDOM_BITS) || !fits(fields.tag, TAG_BITS)) {
    throw new RangeError(`Task id fields out of range: ${JSON.stringify(fields)}`)
  }
  const random = BigInt(fields.random)
  const value =
    (BigInt(fields.createdAt) << 80n) |
    (VERSION << 76n) |
    ((random >> RANDOM_LOW_BITS) << 64n) |
    (VARIANT << 62n) |
    ((random & mask(RANDOM_LOW_BITS)) << BigInt(TAG_BITS)) |
    BigInt(fields.tag)
  const hex = value.toString(16).padStart(32, "0")
  // A UUID by construction: checking it against the UUID pattern again would cost more than making it.
  return TaskId.make(
    `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`,
    { disableValidation: true }
  )
}

/** The fields of an id laid out by `pack`; none for any other UUID (another version, variant or spelling). */
export const unpack = (id: string): Option.Option<TaskIdFields> => {
  if (!ISSUED.test(id)) return Option.none()
  const value = BigInt(`0x${id.replaceAll("-", "")}`)
  const randomHigh = (value >> 64n) & mask(12)
  const randomLow = (value >> BigInt(TAG_BITS)) & mask(RANDOM_LOW_BITS)
  return Option.some({
    createdAt: Number(value >> 80n),
    random: Number((randomHigh << RANDOM_LOW_BITS) | randomLow),
    tag: Number(value & mask(TAG_BITS))
  })
}
