import { describe, expect, it } from "@effect/vitest"
import { Cause, Either, Exit, FiberId } from "effect"
import { outcomeOf, settle } from "../../src/domain/Outcome.js"
import * as Task from "../../src/domain/Task.js"
import { TaskId } from "../../src/domain/TaskId.js"

const pending = Task.pending({
  id: TaskId.make("3f0c2a9e-1b7d-4c55-9d0e-2a6b8f1c4d3e"),
  kind: "test",
  payload: null,
  total: 1,
  createdAt: 0
})
const running = Either.getOrThrow(Task.start(1, "claim")(pending))
const ended = (exit: Exit.Exit<unknown, unknown>, task: Task.Task = running) =>
  Either.getOrThrow(settle(outcomeOf(exit), 9)(task))

describe("settle: how a handler's run ended becomes its task's final state", () => {
  it("success completes it; a failure or a defect fails it with the message; an interruption cancels it", () => {
    expect(ended(Exit.void)).toMatchObject({ _tag: "COMPLETED", completedAt: 9 })
    expect(ended(Exit.fail(new Error("disk full")))).toMatchObject({ _tag: "FAILED", error: "Task failed: disk full" })
    expect(ended(Exit.fail("plain text"))).toMatchObject({ error: "Task failed: plain text" })
    expect(ended(Exit.die(new Error("boom")))).toMatchObject({ _tag: "FAILED", error: "Task died unexpectedly: boom" })
    expect(ended(Exit.interrupt(FiberId.none))).toMatchObject({ _tag: "CANCELLED", completedAt: 9 })
    // An interruption mixed with a failure is a failure.
    const both = Exit.failCause(Cause.parallel(Cause.interrupt(FiberId.none), Cause.fail("x")))
    expect(ended(both)._tag).toBe("FAILED")
  })

  it("words a failure that is not an Error: its message when it has a string one, else the value itself", () => {
    expect(ended(Exit.fail({ message: "quota exceeded", code: 429 }))).toMatchObject({
      error: "Task failed: quota exceeded"
    })
    expect(ended(Exit.fail({ code: 429 }))).toMatchObject({ error: 'Task failed: {\n  "code": 429\n}' })
    expect(ended(Exit.fail({ message: 429 }))).toMatchObject({
      error: 'Task failed: {\n  "message": 429\n}'
    })
    expect(ended(Exit.fail(null))).toMatchObject({ error: "Task failed: null" })
    expect(ended(Exit.die(42))).toMatchObject({ error: "Task died unexpectedly: 42" })
  })

  it("cancels an interrupted task, saying it was interrupted", () => {
    expect(ended(Exit.interrupt(FiberId.none))).toMatchObject({
      _tag: "CANCELLED",
      reason: "Interrupted before it finished"
    })
  })

  it("cancels a task whose worker shut down, saying so", () => {
    expect(Either.getOrThrow(settle({ _tag: "Shutdown" }, 9)(running))).toMatchObject({
      _tag: "CANCELLED",
      reason: "Interrupted before it finished: the server shut down"
    })
  })

  it("settles only a PROCESSING task", () => {
    expect(Either.isLeft(settle({ _tag: "Succeeded" }, 10)(pending))).toBe(true)
    expect(Either.isLeft(settle({ _tag: "Succeeded" }, 10)(ended(Exit.void)))).toBe(true)
  })
})
