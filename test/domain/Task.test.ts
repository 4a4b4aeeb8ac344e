import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, Option } from "effect"
import * as Task from "../../src/domain/Task.js"
import { TaskId } from "../../src/domain/TaskId.js"

const id = TaskId.make("00000000-0000-4000-8000-000000000001")
const pending = Task.pending({ id, kind: "test", payload: { text: "x" }, total: 2, createdAt: 10 })
const segment = new Task.CompletedSegment({ segmentId: "s1", audioUrl: "/audio/x/s1.wav", durationSeconds: 1.5 })
const segmentError = new Task.SegmentError({ segmentId: "s2", message: "no voice" })
const right = <A>(e: Either.Either<A, Task.InvalidTransition>): A => Either.getOrThrow(e)

describe("task transitions", () => {
  it("moves PENDING → PROCESSING → COMPLETED, recording segments and times", () => {
    const running = right(Task.start(20, "claim-1")(pending))
    const halfway = right(Task.segmentDone(segment)(running))
    expect(Task.progress(halfway)).toEqual({ current: 1, total: 2, percentage: 50 })
    const done = right(Task.complete(30)(right(Task.segmentFailed(segmentError)(halfway))))
    expect(done).toMatchObject({ _tag: "COMPLETED", createdAt: 10, startedAt: 20, completedAt: 30 })
    expect(Task.progress(done)).toEqual({ current: 2, total: 2, percentage: 100 })
  })

  it("ends FAILED when every segment failed", () => {
    const failedAll = [segmentError, segmentError].reduce(
      (t, e) => right(Task.segmentFailed(e)(t)),
      right(Task.start(0, "claim-1")(pending))
    )
    expect(right(Task.complete(1)(failedAll))).toMatchObject({ _tag: "FAILED", error: "All 2 segment(s) failed" })
  })

  it("refuses impossible moves", () => {
    const done = right(Task.complete(1)(right(Task.start(0, "claim-1")(pending))))
    expect(Either.isLeft(Task.start(1, "claim-1")(done))).toBe(true)
    expect(Either.isLeft(Task.complete(1)(pending))).toBe(true)
    expect(Either.isLeft(Task.segmentDone(segment)(pending))).toBe(true)
    expect(Task.cancel(2, "x")(done)).toEqual(
      Either.left(new Task.InvalidTransition({ from: "COMPLETED", action: "cancel" }))
    )
    // More segments than the task has are refused rather than pushing progress past 100%.
    const full = [segment, segment].reduce(
      (t, s) => right(Task.segmentDone(s)(t)),
      right(Task.start(0, "claim-1")(pending))
    )
    expect(Either.isLeft(Task.segmentDone(segment)(full))).toBe(true)
  })

  it("says which move it refused, and from which state", () => {
    const refusal = (e: Either.Either<unknown, Task.InvalidTransition>) =>
      Either.flip(e).pipe(Either.getOrThrow).message
    const running = right(Task.start(0, "claim-1")(pending))
    const done = right(Task.complete(1)(running))
    expect(refusal(Task.start(1, "claim-2")(done))).toBe("cannot start a COMPLETED task")
    expect(refusal(Task.segmentDone(segment)(pending))).toBe("cannot record a segment of a PENDING task")
    expect(refusal(Task.segmentFailed(segmentError)(done))).toBe("cannot record a segment error of a COMPLETED task")
    expect(refusal(Task.complete(1)(pending))).toBe("cannot complete a PENDING task")
    expect(refusal(Task.fail(1, "x")(pending))).toBe("cannot fail a PENDING task")
    expect(refusal(Task.cancel(1, "x")(right(Task.fail(1, "x")(running))))).toBe("cannot cancel a FAILED task")
    expect(refusal(Task.release()(pending))).toBe("cannot release a PENDING task")
  })

  it("counts a task with no segments as 0% until it finishes, then 100%", () => {
    const empty = Task.pending({ id, kind: "test", payload: null, total: 0, createdAt: 0 })
    const running = right(Task.start(1, "claim-1")(empty))
    expect(Task.progress(empty)).toEqual({ current: 0, total: 0, percentage: 0 })
    expect(Task.progress(running)).toEqual({ current: 0, total: 0, percentage: 0 })
    expect(Task.progress(right(Task.complete(2)(running)))).toEqual({ current: 0, total: 0, percentage: 100 })
    expect(Task.progress(right(Task.cancel(2, "x")(empty)))).toEqual({ current: 0, total: 0, percentage: 100 })
  })

  it("cancels a task that never started with nothing recorded and no start time", () => {
    expect(right(Task.cancel(5, "by request")(pending))).toEqual(
      new Task.Cancelled({
        id,
        kind: "test",
        total: 2,
        createdAt: 10,
        version: 2,
        completedSegments: [],
        errors: [],
        startedAt: Option.none(),
        completedAt: 5,
        reason: "by request"
      })
    )
  })

  const actions = fc.array(fc.constantFrom("start", "done", "fail-segment", "complete", "fail", "cancel"), {
    maxLength: 12
  })
  const apply = (task: Task.Task, action: string, now: number): Either.Either<Task.Task, Task.InvalidTransition> => {
    switch (action) {
      case "start":
        return Task.start(now, "claim-1")(task)
      case "done":
        return Task.segmentDone(segment)(task)
      case "fail-segment":
        return Task.segmentFailed(segmentError)(task)
      case "complete":
        return Task.complete(now)(task)
      case "fail":
        return Task.fail(now, "boom")(task)
      default:
        return Task.cancel(now, "by request")(task)
    }
  }

  it.prop("a finished task never moves again, and progress never passes the total", [actions], ([list]) => {
    let task: Task.Task = pending
    list.forEach((action, i) => {
      const next = apply(task, action, 100 + i)
      if (Task.isFinished(task)) expect(Either.isLeft(next)).toBe(true)
      if (Either.isRight(next)) task = next.right
      expect(Task.progress(task).current).toBeLessThanOrEqual(task.total)
    })
  })

  it.prop("every move grows the version by exactly one; a refused move changes nothing", [actions], ([list]) => {
    let task: Task.Task = pending
    expect(task.version).toBe(1)
    list.forEach((action, i) => {
      const next = apply(task, action, 100 + i)
      if (Either.isRight(next)) {
        expect(next.right.version).toBe(task.version + 1)
        task = next.right
      }
    })
  })

  it("keeps the payload while the task is active and drops it once finished; a release keeps it for the next claim and gives its attempt back", () => {
    const running = right(Task.start(20, "claim-1")(pending))
    expect(running).toMatchObject({ payload: { text: "x" }, claim: "claim-1", attempts: 1 })
    const released = right(Task.release()(running))
    expect(released).toMatchObject({ _tag: "PENDING", payload: { text: "x" }, attempts: 0, version: 3 })
    expect(right(Task.start(30, "claim-2")(released))).toMatchObject({ claim: "claim-2", attempts: 1 })
    // A task taken back once already (its lease ran out) comes back with no segments, its latest attempt returned.
    const again = right(
      Task.segmentDone(segment)(right(Task.start(40, "claim-3")(new Task.Pending({ ...pending, attempts: 1 }))))
    )
    expect(again).toMatchObject({ attempts: 2, completedSegments: [segment] })
    const handedBack = right(Task.release()(again))
    expect(handedBack).toEqual(new Task.Pending({ ...pending, attempts: 1, version: again.version + 1 }))
    expect(Task.progress(handedBack)).toEqual({ current: 0, total: 2, percentage: 0 })
    expect(right(Task.start(50, "claim-4")(handedBack))).toMatchObject({
      attempts: 2,
      completedSegments: [],
      errors: []
    })
    const finished: ReadonlyArray<Task.Task> = [
      right(Task.complete(30)(running)),
      right(Task.fail(30, "x")(running)),
      right(Task.cancel(30, "x")(running))
    ]
    for (const done of finished) {
      expect(done).not.toHaveProperty("payload")
      expect(done).not.toHaveProperty("claim")
    }
    expect(right(Task.cancel(30, "x")(pending))).not.toHaveProperty("payload")
  })
})
