import { HttpApi, OpenApi } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Either, Option, Schema } from "effect"
import { readFileSync } from "node:fs"
import {
  IdempotencyKeyReused,
  RegistryBusy,
  RegistryFull,
  RegistryUnavailable,
  TaskAlreadyFinished,
  TaskExpired,
  TaskNoLongerHeld,
  TaskNotFound,
  TaskTooLarge
} from "../../../src/domain/Errors.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import { Api } from "../../../src/http/api/Api.js"
import { InternalError, InvalidRequest, PayloadTooLarge, RouteNotFound } from "../../../src/http/api/HttpErrors.js"
import {
  CrossOriginRefused,
  HostNotAllowed,
  MethodNotAllowed,
  respond,
  UnsupportedMediaType
} from "../../../src/http/transport/GuardErrors.js"
import { AudioNotFound } from "../../../src/services/AudioStore.js"

// The wire contract as it stood before the errors were rewritten (test/fixtures/wire, written from the code of
// that time): the OpenAPI document, and the body each endpoint answers for each error it declares. However the
// errors are defined, clients must see the very same bytes.

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../fixtures/wire/${name}`, import.meta.url), "utf8"))

const taskId = TaskId.make("0193a6b2-7c00-8000-8000-000000000001")
const at = 1_764_000_000_000

/** One instance of every error a handler or middleware fails with. */
const samples: ReadonlyArray<unknown> = [
  new TaskNotFound({ taskId: "not-a-task" }),
  new TaskExpired({ taskId, status: "COMPLETED", completedAt: at, evictedAt: at + 3_600_000 }),
  new TaskNoLongerHeld({ taskId, createdAt: at }),
  new TaskAlreadyFinished({ taskId, status: "FAILED" }),
  new RegistryFull({ maxPending: 100 }),
  new RegistryBusy({ weight: 40, pendingWeight: 249_990, maxPendingWeight: 250_000 }),
  new TaskTooLarge({ weight: 300_000, maxPendingWeight: 250_000 }),
  new RegistryUnavailable({ message: "The task store cannot be reached" }),
  new IdempotencyKeyReused({ idempotencyKey: "order-1234", taskId }),
  new AudioNotFound({ taskId: "t", segmentId: "s1" }),
  InvalidRequest.fromIssues([
    { _tag: "Type", path: ["segments", 0, "text"], message: "must be 1 to 5000 characters" },
    { _tag: "Missing", path: ["voice"], message: "is missing" }
  ]),
  InvalidRequest.body("The body is not valid JSON"),
  new PayloadTooLarge({ message: "The body is over 2 MiB" }),
  new RouteNotFound({ message: "No such endpoint; GET /docs lists them" }),
  new InternalError({ message: "An unexpected error occurred; it has been logged" }),
  new UnsupportedMediaType({ message: "Send the body as application/json" })
]

/** For each endpoint, each sample its declared errors encode, as `status body`. */
const errorBodies = () => {
  const bodies: Record<string, Array<string>> = {}
  HttpApi.reflect(Api, {
    onGroup: () => {},
    onEndpoint: ({ endpoint, errors, group }) => {
      const lines: Array<string> = []
      for (const sample of samples) {
        for (const [status, { ast }] of errors) {
          if (Option.isNone(ast)) continue
          const encoded = Schema.encodeUnknownEither(Schema.make(ast.value))(sample)
          if (Either.isRight(encoded)) lines.push(`${status} ${JSON.stringify(encoded.right)}`)
        }
      }
      bodies[`${group.identifier}.${endpoint.name}`] = lines
    }
  })
  return bodies
}

/** The errors answered before the API's own routing, as the checks send them. */
const guardBodies = async () => {
  const guards = [
    respond(MethodNotAllowed, new MethodNotAllowed({ message: "GET /api/tasks/x does not take PUT" }), 405),
    respond(CrossOriginRefused, new CrossOriginRefused({ message: "Origin https://evil.example may not" }), 403),
    respond(HostNotAllowed, new HostNotAllowed({ message: "Host evil.example is not served here" }), 421),
    respond(UnsupportedMediaType, new UnsupportedMediaType({ message: "Send application/json" }), 415)
  ]
  const lines: Array<string> = []
  for (const response of guards) {
    const body = response.body
    lines.push(`${response.status} ${body._tag === "Uint8Array" ? new TextDecoder().decode(body.body) : body._tag}`)
  }
  return lines
}

describe("the wire contract", () => {
  it("the OpenAPI document is what it was", () => {
    expect(JSON.parse(JSON.stringify(OpenApi.fromApi(Api)))).toEqual(fixture("openapi.json"))
  })

  it("states the package's version, read from package.json", () => {
    const { version } = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8"))
    expect(OpenApi.fromApi(Api).info.version).toBe(version)
  })

  it("every endpoint answers every error it declares with the same body as before", () => {
    expect(errorBodies()).toEqual(fixture("error-bodies.json"))
  })

  it("the checks made before routing answer the same bodies as before", async () => {
    expect(await guardBodies()).toEqual(fixture("guard-bodies.json"))
  })
})
