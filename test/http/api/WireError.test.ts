import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { TaskExpired, TaskNoLongerHeld, TaskNotFound } from "../../../src/domain/Errors.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import {
  InvalidRequestJson,
  TaskExpiredJson,
  TaskNoLongerHeldJson,
  TaskNotFoundJson
} from "../../../src/http/api/ApiErrors.js"
import { InvalidRequest } from "../../../src/http/api/HttpErrors.js"
import * as WireError from "../../../src/http/api/WireError.js"

// The wire form each error gets from its fields (the bodies themselves are pinned by ./WireContract.test.ts): it
// decodes back to the very same error, as a client derived from the Api reads it.

const taskId = TaskId.make("0193a6b2-7c00-8000-8000-000000000001")

const roundTrip = <A, I>(schema: Schema.Schema<A, I>, error: A) =>
  Schema.decodeUnknownSync(schema)(JSON.parse(JSON.stringify(Schema.encodeSync(schema)(error))))

describe("WireError", () => {
  it("decodes a body back to the error it was encoded from, times included", () => {
    const expired = new TaskExpired({ taskId, status: "CANCELLED", completedAt: 1_000, evictedAt: 61_000 })
    const decoded = roundTrip(TaskExpiredJson, expired)
    expect(decoded).toBeInstanceOf(TaskExpired)
    expect({ ...decoded }).toEqual({ ...expired })
    expect(decoded.message).toBe(expired.message)

    const held = roundTrip(TaskNoLongerHeldJson, new TaskNoLongerHeld({ taskId, createdAt: 1_764_000_000_000 }))
    expect(held.createdAt).toBe(1_764_000_000_000)

    const invalid = roundTrip(InvalidRequestJson, InvalidRequest.body("The body is empty"))
    expect(invalid).toBeInstanceOf(InvalidRequest)
    expect(invalid.issues).toEqual([{ field: "body", message: "The body is empty" }])
  })

  it("refuses a body that is not the error's: another tag, a missing field", () => {
    const decode = Schema.decodeUnknownEither(TaskNotFoundJson)
    expect(decode({ error: "TaskNotFound", message: "m", task_id: "t" })._tag).toBe("Right")
    expect(decode({ error: "TaskExpired", message: "m", task_id: "t" })._tag).toBe("Left")
    expect(decode({ error: "TaskNotFound", message: "m" })._tag).toBe("Left")
  })

  it("encodes only the error it was made for", () => {
    expect(Schema.encodeUnknownEither(TaskExpiredJson)(new TaskNotFound({ taskId: "t" }))._tag).toBe("Left")
  })

  it("takes overrides only for the error's own fields, of the type its schema reads", () => {
    const TimeIso = Schema.transform(Schema.String, Schema.Number, { decode: Number, encode: String })
    WireError.make(TaskNoLongerHeld, { fields: { createdAt: TimeIso } })
    // @ts-expect-error: TaskNoLongerHeld has no field `evictedAt`
    WireError.make(TaskNoLongerHeld, { fields: { evictedAt: TimeIso } })
    // @ts-expect-error: `createdAt` is a number, not a string
    WireError.make(TaskNoLongerHeld, { fields: { createdAt: Schema.String } })
  })
})
