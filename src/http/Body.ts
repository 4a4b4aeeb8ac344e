import type { HttpServerRequest } from "@effect/platform"
import { Effect, Either, Stream } from "effect"
import { InvalidRequest, PayloadTooLarge } from "./ApiErrors.js"

/** The largest request body accepted. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024

const tooLarge = () =>
  new PayloadTooLarge({ message: `The request body is over ${MAX_BODY_BYTES} bytes (2 MiB); send fewer segments` })

/**
 * Reads the body as JSON whatever its content type (so `curl -d` works as is), refusing more than
 * `MAX_BODY_BYTES` without reading past the limit, and answering a malformed body with what is wrong with it.
 */
export const readJson = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function* () {
    const declared = Number(request.headers["content-length"])
    if (declared > MAX_BODY_BYTES) return yield* Effect.fail(tooLarge())
    const chunks = yield* request.stream.pipe(
      Stream.mapError(() => InvalidRequest.body("The request body could not be read")),
      Stream.runFoldEffect({ size: 0, parts: new Array<Uint8Array>() }, (acc, chunk) => {
        if (acc.size + chunk.length > MAX_BODY_BYTES) return Effect.fail(tooLarge())
        acc.parts.push(chunk)
        return Effect.succeed({ size: acc.size + chunk.length, parts: acc.parts })
      })
    )
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
    return json.right
  })
