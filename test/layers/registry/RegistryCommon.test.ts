import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Either, Exit, Option, Schema } from "effect"
import { RULE } from "../../../src/domain/IdempotencyKey.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import * as TaskKind from "../../../src/domain/TaskKind.js"
import { idempotencyKeyOf, pendingTask } from "../../../src/layers/registry/RegistryCommon.js"

const ids = {
  make: () => Effect.succeed(TaskId.make("00000000-0000-4000-8000-000000000000")),
  issuedAt: () => Option.none()
}

/** The message of the defect `self` dies with. */
const defectOf = <A, E>(self: Effect.Effect<A, E>) =>
  Effect.map(Effect.exit(self), (exit) =>
    Exit.isFailure(exit) ? Option.map(Cause.dieOption(exit.cause), (d) => (d as Error).message) : Option.none()
  )

describe("RegistryCommon", () => {
  it.effect("a payload its kind's schema cannot encode is refused with InvalidPayload, saying why", () =>
    Effect.gen(function* () {
      const payload = Schema.String.pipe(Schema.maxLength(3))
      const kind = TaskKind.make({ name: "test.short", payload, total: () => 1 })
      const refused = yield* Effect.flip(pendingTask(ids, 100, kind, "abcd"))
      const reason = Either.getLeft(Schema.encodeEither(payload)("abcd")).pipe(Option.getOrThrow).message
      expect(reason).toContain("abcd")
      expect(refused).toMatchObject({ _tag: "InvalidPayload", kind: "test.short", reason })
    })
  )

  it.effect("an invalid idempotency key dies with a message that quotes it, cut after 80 characters", () =>
    Effect.gen(function* () {
      const said = (key: string) => defectOf(idempotencyKeyOf({ idempotencyKey: key }))
      const eighty = `${"k".repeat(79)} `
      expect(yield* said(eighty)).toEqual(
        Option.some(`Invalid idempotency key "${eighty}": it must be ${RULE}; it ends with a space`)
      )
      expect(yield* said(`${"k".repeat(80)} `)).toEqual(
        Option.some(`Invalid idempotency key "${"k".repeat(80)}…": it must be ${RULE}; it ends with a space`)
      )
      expect(yield* said("x".repeat(300))).toEqual(
        Option.some(`Invalid idempotency key "${"x".repeat(80)}…": it must be ${RULE}; it has 300 characters`)
      )
      expect(yield* idempotencyKeyOf({ idempotencyKey: "k".repeat(255) })).toBe("k".repeat(255))
      expect(yield* idempotencyKeyOf(undefined)).toBeUndefined()
    })
  )
})
