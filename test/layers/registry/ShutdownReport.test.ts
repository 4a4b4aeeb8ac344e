import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Exit, Layer, Scope } from "effect"
import { RegistryUnavailable } from "../../../src/domain/Errors.js"
import * as Task from "../../../src/domain/Task.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import * as ShutdownReport from "../../../src/layers/registry/ShutdownReport.js"
import type { TaskStore } from "../../../src/services/Settings.js"
import { ClaimLost, TaskQueue } from "../../../src/services/TaskQueue.js"
import { logCapture } from "../../support/logs.js"

const claimOf = (n: number) =>
  Either.getOrThrow(
    Task.start(
      1,
      `claim-${n}`
    )(
      Task.pending({
        id: TaskId.make(`00000000-0000-4000-8000-00000000000${n}`),
        kind: "k",
        payload: {},
        total: 1,
        createdAt: 0
      })
    )
  )

/**
 * A queue whose finish of task 1 is written, of task 2 finds its claim lost (the task was cancelled meanwhile), of
 * task 3 cannot reach the store, and of any other is written.
 */
const below = TaskQueue.of({
  claim: () => Effect.succeedNone,
  report: () => Effect.void,
  finish: (claim) =>
    claim.claim === "claim-2"
      ? Effect.fail(new ClaimLost({ taskId: claim.id }))
      : claim.claim === "claim-3"
        ? Effect.fail(new RegistryUnavailable({ message: "down" }))
        : Effect.void,
  onLost: () => Effect.succeed(Effect.void),
  subscribeWork: () => Effect.succeed(Effect.never)
})

/** Finishes claims 1 to 4 through the report's queue (4 with `Succeeded`, the rest as stopped) and closes it. */
const shutDown = (store: TaskStore) =>
  Effect.gen(function* () {
    const { layer, lines } = logCapture()
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      ShutdownReport.layer(store).pipe(Layer.provide(Layer.succeed(TaskQueue, below))),
      scope
    ).pipe(Effect.provide(layer))
    const queue = yield* Effect.provide(TaskQueue, context)
    for (const n of [1, 2, 3]) yield* Effect.either(queue.finish(claimOf(n), { _tag: "Shutdown" }))
    // A retry of a finish counts once; a task that ended by itself is not one the shutdown stopped.
    yield* queue.finish(claimOf(1), { _tag: "Shutdown" })
    yield* queue.finish(claimOf(4), { _tag: "Succeeded" })
    yield* Scope.close(scope, Exit.void)
    return lines.filter((l) => l.message.startsWith("Shutting down"))
  })

describe("ShutdownReport", () => {
  it.effect("logs once, on close, how many stopped tasks were handed back and how many are left to their lease", () =>
    Effect.gen(function* () {
      expect((yield* shutDown("redis")).map((l) => [l.level, l.message, l.annotations])).toEqual([
        [
          "INFO",
          "Shutting down: handed 1 running task(s) back to PENDING for another process; 1 could not be handed back " +
            "(the task store did not answer in time) and go back to PENDING when their claim's lease (TASK_LEASE) " +
            "runs out, as after a crash",
          { handedBack: 1, leftToLease: 1 }
        ]
      ])
      expect((yield* shutDown("memory")).map((l) => l.message)).toEqual([
        'Shutting down: 1 running task(s) ended CANCELLED ("server shut down")'
      ])
    })
  )

  it.effect("says nothing when the shutdown stopped no task", () =>
    Effect.gen(function* () {
      const { layer, lines } = logCapture()
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        ShutdownReport.layer("redis").pipe(Layer.provide(Layer.succeed(TaskQueue, below))),
        scope
      ).pipe(Effect.provide(layer))
      yield* (yield* Effect.provide(TaskQueue, context)).finish(claimOf(1), { _tag: "Succeeded" })
      yield* Scope.close(scope, Exit.void)
      expect(lines).toEqual([])
      expect(ShutdownReport.describe("redis", 2, 0)).toBe(
        "Shutting down: handed 2 running task(s) back to PENDING for another process"
      )
    })
  )
})
