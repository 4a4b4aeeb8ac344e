import type { HttpServerRequest } from "@effect/platform"
import { Effect, Either, Stream } from "effect"
import { InvalidRequest, PayloadTooLarge } from "./HttpErrors.js"
import { MAX_JSON_DEPTH, nestedDeeperThan } from "./JsonDepth.js"

/** The largest request body accepted. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024

const tooLarge = () =>
  new PayloadTooLarge({ message: `The request body is over ${MAX_BODY_BYTES} bytes (2 MiB); send fewer segments` })

/**
 * Reads the body as JSON (the endpoint's `JsonBody` middleware has checked its content type), refusing more than
 * `MAX_BODY_BYTES` without keeping past the limit, and answering a malformed body with what is wrong with it.
 */
export const readJson = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const declared = Number(request.headers["content-length"])
    if (declared > MAX_BODY_BYTES) return yield* Effect.fail(tooLarge())
    const chunks = yield* request.stream.pipe(
      Stream.mapError(() => InvalidRequest.body("The request body could not be read")),
      // Past the limit the rest is read and dropped, not left unread: ending the stream early destroys the socket,
      // and the client (a chunked body has no length to refuse up front) would get no 413 at all. The server's
      // request timeout bounds how long a client can keep sending.
      Stream.runFold({ size: 0, parts: new Array<Uint8Array>() }, (acc, chunk) => {
        if (acc.size + chunk.length <= MAX_BODY_BYTES) acc.parts.push(chunk)
        return { size: acc.size + chunk.length, parts: acc.parts }
      })
    )
    if (chunks.size > MAX_BODY_BYTES) return yield* Effect.fail(tooLarge())
    const bytes = Buffer.concat(chunks.parts)
    if (bytes.length === 0)
      return yield* Effect.fail(InvalidRequest.body("The request body is empty; send a JSON object"))
    const text = Either.try(() => new TextDecoder("utf-8", { fatal: true }).decode(bytes))
    if (Either.isLeft(text)) return yield* Effect.fail(InvalidRequest.body("The request body is not valid UTF-8"))
    const json = Either.try(() => JSON.parse(text.right) as unknown)
    if (Either.isLeft(json)) {
      const reason = json.left instanceof Error ? json.left.message : String(json.left)
      return yield* Effect.fail(InvalidRequest.body(`The request body is not valid JSON: ${reason}`))
    }
    if (nestedDeeperThan(MAX_JSON_DEPTH)(json.right)) {
      return yield* Effect.fail(InvalidRequest.body(`The request body nests more than ${MAX_JSON_DEPTH} levels deep`))
    }
    return json.right
  })
