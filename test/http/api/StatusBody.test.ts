import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as Task from "../../../src/domain/Task.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import { makeStatusBodies } from "../../../src/http/api/StatusBody.js"
import { toTaskStatusJson } from "../../../src/http/api/Wire.js"

const pending = Task.pending({
  id: TaskId.make("3f0c2a9e-1b7d-4c55-9d0e-2a6b8f1c4d3e"),
  kind: "narration",
  payload: {},
  total: 2,
  createdAt: 0
})
const bodyOf = (response: ReturnType<ReturnType<typeof makeStatusBodies>>) =>
  response.body._tag === "Uint8Array" ? response.body.body : undefined

describe("status bodies", () => {
  it("encode a task once, and again only when the task has changed", () => {
    const statusBody = makeStatusBodies()
    const first = bodyOf(statusBody(pending))
    expect(bodyOf(statusBody(pending))).toBe(first) // the very same bytes: not encoded twice
    expect(JSON.parse(new TextDecoder().decode(first))).toEqual(toTaskStatusJson(pending))
    const started = Either.getOrThrow(Task.start(5, "claim")(pending))
    const next = bodyOf(statusBody(started))
    expect(next).not.toBe(first)
    expect(JSON.parse(new TextDecoder().decode(next))).toMatchObject({ status: "PROCESSING", version: 2 })
  })

  it.effect("answer with the given status and a JSON content type", () =>
    Effect.sync(() => {
      const statusBody = makeStatusBodies()
      const response = statusBody(pending, 202)
      expect(response.status).toBe(202)
      expect(response.body.contentType).toBe("application/json")
      expect(bodyOf(response)).toBe(bodyOf(statusBody(pending)))
    })
  )

  it("keep a task's 200 response itself, so that a poll of an unchanged task builds nothing", () => {
    const statusBody = makeStatusBodies()
    const ok = statusBody(pending)
    expect(ok.status).toBe(200)
    expect(statusBody(pending)).toBe(ok)
    expect(statusBody(Either.getOrThrow(Task.start(5, "claim")(pending)))).not.toBe(ok)
  })
})
