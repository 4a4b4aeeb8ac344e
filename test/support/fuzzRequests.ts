import { FastCheck as fc } from "effect"
import type { RawReply, RawRequest } from "./rawHttp.js"

// Ids, paths, query strings and headers for fuzzing the HTTP API, and the one rule every answer must keep.
// Everything generated stays within what node's HTTP client will send and node's parser will read (printable
// ASCII in the request line, no unknown methods, no `expect`), so that each answer comes from the app itself.

/** Percent-encodes every byte of `text`'s UTF-8 other than unreserved characters (a lone surrogate becomes U+FFFD). */
export const percentEncode = (text: string): string =>
  [...Buffer.from(text, "utf8")]
    .map((byte) => {
      const char = String.fromCharCode(byte)
      return /[A-Za-z0-9._~-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`
    })
    .join("")

/** Tasks and audio files that exist on the server under test, filled in as the fuzzing goes. */
export interface Known {
  readonly taskIds: Array<string>
  readonly audioPaths: Array<string>
}

/** `fc.constant` of a string literal, typed as that literal rather than as `string`. */
const literal = <const T extends string>(value: T) => fc.constant(value)

const pick = <A>(items: ReadonlyArray<A>, index: number, fallback: A): A =>
  items.length === 0 ? fallback : items[index % items.length]!

export type IdChoice =
  | { readonly kind: "known"; readonly index: number }
  | { readonly kind: "near"; readonly index: number; readonly how: NearMiss; readonly at: number }
  | { readonly kind: "text"; readonly text: string }

type NearMiss = "upper" | "drop" | "extra" | "nonHex" | "braces" | "urn" | "noDashes" | "space" | "newline" | "encoded"

/** A task id as it goes into a path: a known task's, one a character away from one, a random UUID, or garbage. */
export const idChoice: fc.Arbitrary<IdChoice> = fc.oneof(
  fc.record({ kind: literal("known"), index: fc.nat() }),
  fc.record({
    kind: literal("near"),
    index: fc.nat(),
    how: fc.constantFrom<NearMiss>(
      "upper",
      "drop",
      "extra",
      "nonHex",
      "braces",
      "urn",
      "noDashes",
      "space",
      "newline",
      "encoded"
    ),
    at: fc.nat({ max: 35 })
  }),
  fc.record({ kind: literal("text"), text: fc.uuid().map(percentEncode) }),
  fc.record({
    kind: literal("text"),
    text: fc.oneof(
      fc.constantFrom("", "0", "null", "undefined", "..", "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "%00", "%", "%zz", "*"),
      fc.webSegment(),
      fc.string({ unit: "binary", maxLength: 40 }).map(percentEncode)
    )
  })
)

export const idText = (choice: IdChoice, known: Known): string => {
  if (choice.kind === "text") return choice.text
  const id = pick(known.taskIds, choice.index, "00000000-0000-4000-8000-000000000000")
  if (choice.kind === "known") return id
  const at = choice.at % id.length
  switch (choice.how) {
    case "upper":
      return id.toUpperCase()
    case "drop":
      return id.slice(0, at) + id.slice(at + 1)
    case "extra":
      return `${id.slice(0, at)}a${id.slice(at)}`
    case "nonHex":
      return `${id.slice(0, at)}g${id.slice(at + 1)}`
    case "braces":
      return `%7B${id}%7D`
    case "urn":
      return `urn:uuid:${id}`
    case "noDashes":
      return id.replaceAll("-", "")
    case "space":
      return `%20${id}`
    case "newline":
      return `${id}%0A`
    case "encoded":
      // Every character escaped: the router decodes it back into a valid id.
      return [...id].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("")
  }
}

/** Path segments that mean something to the API or to a file system, encoded and not. */
const pathSegment = fc.oneof(
  fc.constantFrom("api", "tasks", "audio", "health", "voices", "events", "docs", "openapi.json", "metrics", ""),
  fc.constantFrom(".", "..", "%2e", "%2e%2e", "%2E%2E%2F%2E%2E", "..%2f..%2f", "%252e%252e%252f", "..%5c..%5c"),
  fc.constantFrom("%c0%ae%c0%ae", "%00", "%", "%zz", "%ff%fe", "~", ";", ";x=1", "%20", "\\", "*", "@", ":"),
  fc.constantFrom("x.wav", "s1.wav", ".wav", "s1.wav.partial", "..%2F..%2Fetc%2Fpasswd", "etc%2Fpasswd.wav"),
  fc.webSegment(),
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 12 })
)

export type PathChoice =
  | { readonly kind: "segments"; readonly root: string; readonly segments: ReadonlyArray<string> }
  | { readonly kind: "task"; readonly id: IdChoice; readonly suffix: string }
  | { readonly kind: "audio"; readonly id: IdChoice; readonly file: string }
  | { readonly kind: "knownAudio"; readonly index: number; readonly suffix: string }

/** A path under /api or /audio: random segments, a task's path, or an audio file's, with traversal attempts. */
export const pathChoice: fc.Arbitrary<PathChoice> = fc.oneof(
  fc.record({
    kind: literal("segments"),
    root: fc.constantFrom("/api", "/audio", "/api/tasks", "//api", "/API", "/api/"),
    segments: fc.array(pathSegment, { maxLength: 6 })
  }),
  fc.record({
    kind: literal("task"),
    id: idChoice,
    suffix: fc.constantFrom("", "/", "/events", "/audio", "/..", "/%2e%2e/%2e%2e", "?x=1", "#top", ";")
  }),
  fc.record({
    kind: literal("audio"),
    id: idChoice,
    file: fc.oneof(
      pathSegment,
      pathSegment.map((s) => `${s}.wav`)
    )
  }),
  fc.record({
    kind: literal("knownAudio"),
    index: fc.nat(),
    suffix: fc.constantFrom("", "/", "%00", ".partial", "?download=1", "/..%2F..%2F..%2Fetc%2Fpasswd")
  })
)

export const pathText = (choice: PathChoice, known: Known): string => {
  switch (choice.kind) {
    case "segments":
      return [choice.root, ...choice.segments].join("/")
    case "task":
      return `/api/tasks/${idText(choice.id, known)}${choice.suffix}`
    case "audio":
      return `/audio/${idText(choice.id, known)}/${choice.file}`
    case "knownAudio":
      return pick(known.audioPaths, choice.index, "/audio/00000000-0000-4000-8000-000000000000/s1.wav") + choice.suffix
  }
}

const queryChar = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c))

/** A query string for GET /api/tasks: the real parameters with awkward values, repeats and strangers. */
export const listQuery: fc.Arbitrary<string> = fc
  .array(
    fc.tuple(
      fc.constantFrom("status", "limit", "STATUS", "Limit", "status[]", "limit[]", "__proto__", "constructor", "", "x"),
      fc.oneof(
        fc.constantFrom("PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED", "pending", "DONE"),
        fc.constantFrom("0", "1", "10000", "10001", "-1", "1.5", "1e3", "0x10", "NaN", "Infinity", "+1", "%201"),
        fc.constantFrom("", "%", "%zz", "%00", "%E2%80%AE", "9".repeat(400), "1%26limit%3D2"),
        fc.integer().map(String),
        fc.string({ unit: queryChar, maxLength: 20 })
      ),
      fc.constantFrom("=", "", "==")
    ),
    { maxLength: 6 }
  )
  .chain((params) =>
    fc
      .constantFrom("&", ";", "&&")
      .map((separator) => params.map(([name, value, equals]) => `${name}${equals}${value}`).join(separator))
  )

/** Headers that the server, the router or the tracer read, and others; never ones that change the framing. */
const headerName = fc.oneof(
  fc.constantFrom("content-type", "accept", "accept-encoding", "accept-language", "user-agent", "cookie"),
  fc.constantFrom("traceparent", "tracestate", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled"),
  fc.constantFrom("host", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "forwarded", "origin"),
  fc.constantFrom("authorization", "range", "if-none-match", "if-modified-since", "last-event-id"),
  fc.constantFrom("content-encoding", "access-control-request-method", "x-http-method-override", "connection"),
  fc.stringMatching(/^[a-z][a-z0-9-]{0,24}$/).filter((name) => !framing.has(name))
)

const framing = new Set(["expect", "content-length", "transfer-encoding", "upgrade", "te", "trailer"])

const headerValue = fc.oneof(
  fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "*/*", "", "close"),
  fc.constantFrom("application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; x"),
  fc.constantFrom("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-zz-zz-01", "00-", "ff-ff-ff-ff"),
  fc.constantFrom("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1", "1", "-", "a-b-c-d-e"),
  fc.constantFrom("[", "[::1", "a:b:c", "%", "user:pass@x", "evil.example:99999", "gzip", "bytes=9-1", "GET"),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 200 }),
  fc.string({ unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  fc.integer({ min: 1, max: 4000 }).map((n) => "x".repeat(n))
)

export const headers: fc.Arbitrary<Record<string, string>> = fc.dictionary(headerName, headerValue, { maxKeys: 6 })

const excerpt = (reply: RawReply) => reply.body.subarray(0, 300).toString("utf8")

const hasStringField = (value: unknown, field: string) =>
  typeof value === "object" && value !== null && field in value && typeof Reflect.get(value, field) === "string"

/**
 * What is wrong with an answer, if anything. Every answer is a 2xx or a 4xx; its body is JSON, and a 4xx body has
 * `error` and `message`; the only exceptions are an audio file (audio/wav) and HEAD, which has no body.
 */
export const problemWith = (sent: RawRequest, reply: RawReply): string | undefined => {
  const ok = reply.status >= 200 && reply.status < 300
  if (!ok && !(reply.status >= 400 && reply.status < 500)) return `status ${reply.status}: ${excerpt(reply)}`
  const type = reply.headers["content-type"] ?? ""
  const json = /^application\/json\b/.test(type)
  if (sent.method === "HEAD") return json || type === "audio/wav" ? undefined : `HEAD answered "${type}"`
  if (ok && type === "audio/wav" && sent.path.startsWith("/audio/")) return undefined
  if (!json) return `status ${reply.status} with content-type "${type}": ${excerpt(reply)}`
  let body: unknown
  try {
    body = JSON.parse(reply.body.toString("utf8"))
  } catch {
    return `status ${reply.status} with a body that is not JSON: ${excerpt(reply)}`
  }
  if (!ok && !(hasStringField(body, "error") && hasStringField(body, "message"))) {
    return `status ${reply.status} without "error" and "message": ${excerpt(reply)}`
  }
  return undefined
}

/** Throws, saying what was sent and what came back, unless the answer keeps the rule of `problemWith`. */
export const expectWellFormed = (sent: RawRequest, reply: RawReply): void => {
  const problem = problemWith(sent, reply)
  if (problem !== undefined) throw new Error(`${sent.method} ${sent.path.slice(0, 200)} → ${problem}`)
}
