import { describe, expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { TaskExpired, TaskNoLongerHeld, TaskNotFound } from "../../../src/domain/Errors.js"
import { TaskId } from "../../../src/domain/TaskId.js"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import type { RegistryHarness } from "../registry.js"
import { awaitStatus } from "../registry.js"
import * as Jobs from "../script.js"
import { submit } from "../script.js"

const SECRET = "a test secret, long enough to be accepted as a key"
const OTHER_SECRET = "another test secret, also long enough to be a key"

/** Every way of asking about a task that is not held, each answering its error. */
const askEveryWay = (id: TaskId) =>
  Effect.flatMap(TaskRegistry, (registry) =>
    Effect.all([
      Effect.flip(registry.get(id)),
      Effect.flip(registry.cancel(id)),
      Effect.flip(Stream.runDrain(registry.watch(id)))
    ])
  )

/**
 * Ids outlive records: an id this service issued answers `TaskNoLongerHeld` with its creation time once neither its
 * record nor its tombstone is held, in any store that shares the key, while an id never issued answers
 * `TaskNotFound`. The key is given as `TASK_ID_SECRET`, so that two stores built from the same settings share it.
 */
export const idsSuite = ({ advance, layer: makeLayer }: RegistryHarness) => {
  describe("ids that outlive their records", () => {
    it.effect("answers TaskNoLongerHeld, with its creation time, once an evicted task's tombstone is dropped", () =>
      Effect.gen(function* () {
        const tasks = []
        for (let i = 0; i < 3; i++) {
          yield* advance("1 second")
          const task = yield* submit(Jobs.instant())
          yield* awaitStatus(task.id, "COMPLETED")
          tasks.push(task)
        }
        yield* advance("61 seconds")
        expect(yield* (yield* TaskRegistry).sweep).toBe(3)
        const [first, second, last] = tasks
        for (const task of [first!, second!]) {
          const answers = yield* askEveryWay(task.id)
          for (const answer of answers) {
            expect(answer).toEqual(new TaskNoLongerHeld({ taskId: task.id, createdAt: task.createdAt }))
          }
        }
        expect(first!.createdAt).toBe(1000)
        expect((yield* askEveryWay(first!.id))[0].message).toBe(
          `Task ${first!.id} was created at 1970-01-01T00:00:01.000Z by this service, and its record is no longer ` +
            "held: it finished and was cleaned up, or the service restarted"
        )
        // While its tombstone is held, it is the richer answer.
        for (const answer of yield* askEveryWay(last!.id)) expect(answer).toBeInstanceOf(TaskExpired)
        const unknown = TaskId.make(crypto.randomUUID())
        for (const answer of yield* askEveryWay(unknown)) expect(answer).toEqual(new TaskNotFound({ taskId: unknown }))
      }).pipe(
        Effect.provide(makeLayer({ TASK_CLEANUP_THRESHOLD: "60", TASK_CLEANUP_INTERVAL: "0", TASK_TOMBSTONES: "1" }))
      )
    )

    it.effect("a store built afresh with the same key answers TaskNoLongerHeld for the first one's ids", () =>
      Effect.gen(function* () {
        yield* advance("5 seconds")
        // The first store is closed when this effect ends, as a process's is when it stops.
        const earlier = yield* submit(Jobs.instant()).pipe(Effect.provide(makeLayer({ TASK_ID_SECRET: SECRET })))
        const afresh = makeLayer({ TASK_ID_SECRET: SECRET })
        const answers = yield* askEveryWay(earlier.id).pipe(Effect.provide(afresh))
        for (const answer of answers) {
          expect(answer).toEqual(new TaskNoLongerHeld({ taskId: earlier.id, createdAt: 5000 }))
        }
        const unknown = TaskId.make(crypto.randomUUID())
        const unknownAnswers = yield* askEveryWay(unknown).pipe(Effect.provide(afresh))
        for (const answer of unknownAnswers) expect(answer).toEqual(new TaskNotFound({ taskId: unknown }))
        // Under another key the id is not this service's: wrong once in 2^26 runs, the odds of a 26-bit tag.
        const otherKey = yield* askEveryWay(earlier.id).pipe(
          Effect.provide(makeLayer({ TASK_ID_SECRET: OTHER_SECRET }))
        )
        for (const answer of otherKey) expect(answer).toEqual(new TaskNotFound({ taskId: earlier.id }))
      })
    )
  })
}
