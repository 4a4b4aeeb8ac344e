import { FastCheck as fc } from "effect"

// Request bodies for fuzzing POST /api/tasks: valid submit bodies, mutations of them, and ways of turning a JSON
// value into bytes, some of them wrong. Mutations and encodings are generated as data and applied in the test, so
// that a counterexample prints as what was done to a body, not as megabytes of the body itself.

export type Json = fc.JsonValue
type JsonRecord = { readonly [key in string]?: Json }
type Key = string | number
type Path = ReadonlyArray<Key>

const isList = (value: Json): value is Extract<Json, ReadonlyArray<unknown>> => Array.isArray(value)
const isRecord = (value: Json): value is JsonRecord =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Sets an own property, also one named `__proto__`, which plain assignment would turn into a prototype. */
const withKey = (record: JsonRecord, key: string, value: Json): Json => {
  const copy = { ...record }
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true })
  return copy
}

const withoutKey = (record: JsonRecord, key: string): Json =>
  Object.fromEntries(Object.entries(record).filter(([k]) => k !== key))

/** Every path into `value`, the root (`[]`) first. */
const pathsOf = (value: Json, prefix: Path = []): Array<Path> => [
  prefix,
  ...(isList(value)
    ? value.flatMap((item, i) => pathsOf(item, [...prefix, i]))
    : isRecord(value)
      ? Object.entries(value).flatMap(([k, item]) => (item === undefined ? [] : pathsOf(item, [...prefix, k])))
      : [])
]

const at = (value: Json, path: Path): Json | undefined =>
  path.reduce<Json | undefined>(
    (node, key) =>
      node === undefined
        ? undefined
        : typeof key === "number"
          ? isList(node)
            ? node[key]
            : undefined
          : isRecord(node)
            ? node[key]
            : undefined,
    value
  )

/** `value` with the node at `path` replaced by `f(node)`; `undefined` from `f` removes the node. */
const update = (value: Json, path: Path, f: (node: Json) => Json | undefined): Json | undefined => {
  if (path.length === 0) return f(value)
  const [key, ...rest] = path
  if (isList(value) && typeof key === "number") {
    const next = update(value[key] ?? null, rest, f)
    return next === undefined ? value.filter((_, i) => i !== key) : value.map((item, i) => (i === key ? next : item))
  }
  if (isRecord(value) && typeof key === "string") {
    const next = update(value[key] ?? null, rest, f)
    return next === undefined ? withoutKey(value, key) : withKey(value, key, next)
  }
  return value
}

const nested = (depth: number, kind: "array" | "object", inner: Json): Json => {
  let node = inner
  for (let i = 0; i < depth; i++) node = kind === "array" ? [node] : { a: node }
  return node
}

export type Mutation =
  | { readonly op: "drop"; readonly at: number }
  | { readonly op: "replace"; readonly at: number; readonly value: Json }
  | { readonly op: "add"; readonly at: number; readonly key: string; readonly value: Json }
  | { readonly op: "huge"; readonly at: number; readonly unit: string; readonly count: number }
  | { readonly op: "nest"; readonly at: number; readonly depth: number; readonly kind: "array" | "object" }
  | { readonly op: "resize"; readonly at: number; readonly length: number }

/** Applies a mutation at the `at`-th path it can apply to (modulo their count); a no-op where there is none. */
export const mutate = (value: Json, mutation: Mutation): Json => {
  const paths = pathsOf(value)
  const pick = (fits: (node: Json, path: Path) => boolean) => {
    const candidates = paths.filter((path) => {
      const node = at(value, path)
      return node !== undefined && fits(node, path)
    })
    return candidates.length === 0 ? undefined : candidates[mutation.at % candidates.length]
  }
  const apply = (path: Path | undefined, f: (node: Json) => Json | undefined) =>
    path === undefined ? value : (update(value, path, f) ?? null)
  switch (mutation.op) {
    case "drop":
      return apply(
        pick((_, path) => path.length > 0),
        () => undefined
      )
    case "replace":
      return apply(pick(isAny), () => mutation.value)
    case "add":
      return apply(pick(isRecord), (node) => (isRecord(node) ? withKey(node, mutation.key, mutation.value) : node))
    case "huge":
      return apply(pick(isAny), () => mutation.unit.repeat(mutation.count))
    case "nest":
      return apply(pick(isAny), (node) => nested(mutation.depth, mutation.kind, node))
    case "resize":
      return apply(pick(isList), (node) =>
        isList(node) && node.length > 0
          ? Array.from({ length: mutation.length }, (_, i) => node[i % node.length]!)
          : node
      )
  }
}

const isAny = () => true

/** `fc.constant` of a string literal, typed as that literal rather than as `string`. */
const literal = <const T extends string>(value: T) => fc.constant(value)

const segmentId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/)

/** A body the API accepts: 1 to 5 segments with unique ids, and maybe a known voice and a speed in range. */
export const validBody: fc.Arbitrary<Json> = fc.record(
  {
    segments: fc.uniqueArray(fc.record({ segment_id: segmentId, text: fc.string({ minLength: 1, maxLength: 40 }) }), {
      minLength: 1,
      maxLength: 5,
      selector: (segment) => segment.segment_id
    }),
    voice: fc.constantFrom("en-us", "en-gb"),
    speed: fc.double({ min: 0.5, max: 2, noNaN: true })
  },
  { requiredKeys: ["segments"] }
)

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code))

/** Strings that sit on or near a rule of the API, and strings of any Unicode. */
export const awkwardString = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "en-us",
    "EN-US",
    " en-us",
    "PENDING",
    "[fail]",
    "../../etc/passwd",
    "..\\..\\boot.ini",
    "a".repeat(64),
    "a".repeat(65),
    "🦊".repeat(5000),
    "🦊".repeat(5001),
    "x".repeat(5001),
    "\u0000",
    "\ud800",
    "\u202e",
    "__proto__",
    "constructor",
    "%00",
    "<script>alert(1)</script>"
  ),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ unit: "grapheme", maxLength: 30 }),
  fc.string({ unit: loneSurrogate, maxLength: 4 })
)

const awkwardNumber = fc.oneof(
  fc.constantFrom(0, -0, 0.5, 2, 0.49999999, 2.0000001, -1, 1e308, -1e308, 5e-324, 2 ** 53, 500, 501),
  fc.double({ noNaN: true, noDefaultInfinity: true })
)

/** Any JSON value, biased towards the awkward ones. */
export const anyJson: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  awkwardString,
  awkwardNumber,
  fc.constantFrom(null, true, false, [], {}, [null], { segment_id: "s1", text: "Once." })
)

const fieldName = fc.oneof(
  fc.constantFrom("__proto__", "constructor", "toString", "segments", "voice", "speed", "segment_id", "text", ""),
  fc.constantFrom("SEGMENTS", "segments ", "task_id", "status", "priority"),
  fc.string({ maxLength: 10 })
)

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: literal("drop"), at: fc.nat() }),
  fc.record({ op: literal("replace"), at: fc.nat(), value: anyJson }),
  fc.record({ op: literal("add"), at: fc.nat(), key: fieldName, value: anyJson }),
  fc.record({
    op: literal("huge"),
    at: fc.nat(),
    unit: fc.constantFrom("x", "é", "🦊", "\u0000", "\ud800", "\\", '"'),
    count: fc.integer({ min: 4_990, max: 300_000 })
  }),
  fc.record({
    op: literal("nest"),
    at: fc.nat(),
    // Moderate depths here; the deep ones have a property of their own.
    depth: fc.integer({ min: 1, max: 200 }),
    kind: fc.constantFrom<"array" | "object">("array", "object")
  }),
  fc.record({ op: literal("resize"), at: fc.nat(), length: fc.constantFrom(0, 1, 2, 499, 500, 501, 600) })
)

/** Whether `value` written as JSON would take more than `limit` bytes, found without writing all of it out. */
export const largerThan = (value: Json, limit: number): boolean => {
  let size = 0
  const pending: Array<Json> = [value]
  while (pending.length > 0 && size <= limit) {
    const node = pending.pop()!
    if (isList(node)) {
      size += node.length + 1
      pending.push(...node)
    } else if (isRecord(node)) {
      for (const [key, item] of Object.entries(node)) {
        size += Buffer.byteLength(JSON.stringify(key)) + 2
        if (item !== undefined) pending.push(item)
      }
    } else {
      size += Buffer.byteLength(JSON.stringify(node))
    }
  }
  return size > limit
}

export type Encoding =
  | { readonly kind: "json" | "pretty" | "bom" | "utf16le" | "latin1" }
  | { readonly kind: "duplicateKey"; readonly value: Json }
  | { readonly kind: "truncate" | "flip"; readonly at: number; readonly byte: number }
  | { readonly kind: "append"; readonly text: string }

export const encoding: fc.Arbitrary<Encoding> = fc.oneof(
  { arbitrary: fc.record({ kind: literal("json") }), weight: 6 },
  fc.record({ kind: fc.constantFrom<"pretty" | "bom" | "utf16le" | "latin1">("pretty", "bom", "utf16le", "latin1") }),
  fc.record({ kind: literal("duplicateKey"), value: anyJson }),
  fc.record({
    kind: fc.constantFrom<"truncate" | "flip">("truncate", "flip"),
    at: fc.nat(),
    byte: fc.integer({ min: 0, max: 255 })
  }),
  fc.record({ kind: literal("append"), text: fc.constantFrom("}", "]", ",", " x", "\u0000", "{}", "\n\n", "//") })
)

const utf8 = new TextEncoder()

/** The bytes of `value` as `how` says, valid JSON or not. */
export const encode = (value: Json, how: Encoding): Uint8Array => {
  const json = JSON.stringify(value)
  switch (how.kind) {
    case "json":
      return utf8.encode(json)
    case "pretty":
      return utf8.encode(JSON.stringify(value, null, "\t").replaceAll("\n", "\r\n"))
    case "bom":
      return utf8.encode(`\ufeff${json}`)
    case "utf16le":
      return Buffer.from(json, "utf16le")
    case "latin1":
      return Buffer.from(json, "latin1")
    case "duplicateKey":
      // JSON.parse keeps the last of two equal keys; the first one here is the injected one.
      return utf8.encode(isRecord(value) ? `{"segments":${JSON.stringify(how.value)},${json.slice(1)}` : json)
    case "truncate": {
      const bytes = utf8.encode(json)
      return bytes.subarray(0, how.at % Math.max(bytes.length, 1))
    }
    case "flip": {
      const bytes = utf8.encode(json)
      if (bytes.length > 0) bytes[how.at % bytes.length] = how.byte
      return bytes
    }
    case "append":
      return utf8.encode(json + how.text)
  }
}

/** Where `deeplyNested` puts its value: the whole body, or one field of an otherwise valid body. */
export type NestedAt = "body" | "segments" | "segment" | "segment_id" | "text" | "voice" | "speed" | "extra"

/** A body nested `depth` deep, written as text: `JSON.stringify` itself would overflow the stack. */
export const deeplyNested = (depth: number, kind: "array" | "object", where: NestedAt): Uint8Array => {
  const value =
    kind === "array" ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`
  const segment =
    where === "segment"
      ? value
      : where === "segment_id"
        ? `{"segment_id":${value},"text":"x"}`
        : where === "text"
          ? `{"segment_id":"s2","text":${value}}`
          : `{"segment_id":"s2","text":"x"}`
  const text =
    where === "body"
      ? value
      : where === "segments"
        ? `{"segments":${value}}`
        : where === "voice" || where === "speed" || where === "extra"
          ? `{"segments":[${segment}],"${where}":${value}}`
          : `{"segments":[{"segment_id":"s1","text":"Once."},${segment}]}`
  return utf8.encode(text)
}
