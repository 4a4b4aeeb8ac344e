import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { Tombstone } from "../../src/domain/RegistryState.js"
import * as Task from "../../src/domain/Task.js"
import { TaskId } from "../../src/domain/TaskId.js"
import { countEvent, tasksEvicted, tasksSubmitted } from "../../src/services/Metrics.js"

const id = TaskId.make("00000000-0000-8000-8000-000000000001")
const submitted = Task.pending({ id, kind: "test", payload: {}, total: 1, createdAt: 0 })
const tombstone = new Tombstone({ id, status: "COMPLETED", completedAt: 0, evictedAt: 1 })
const evictedByAge = Metric.tagged(tasksEvicted, "cause", "age")

describe("countEvent", () => {
  it.effect("counts what this process did, not what it heard of from others sharing the store", () =>
    Effect.gen(function* () {
      const before = yield* Effect.all([Metric.value(tasksSubmitted), Metric.value(evictedByAge)])
      yield* countEvent({ _tag: "Changed", id: "e1-1", task: submitted, here: false })
      yield* countEvent({ _tag: "Evicted", id: "e1-2", tombstone, cause: "age", here: false })
      yield* countEvent({ _tag: "Missed" })
      const heard = yield* Effect.all([Metric.value(tasksSubmitted), Metric.value(evictedByAge)])
      expect(heard.map((s) => s.count)).toEqual(before.map((s) => s.count))
      yield* countEvent({ _tag: "Changed", id: "e1-1", task: submitted, here: true })
      yield* countEvent({ _tag: "Evicted", id: "e1-2", tombstone, cause: "age", here: true })
      const done = yield* Effect.all([Metric.value(tasksSubmitted), Metric.value(evictedByAge)])
      expect(done.map((s) => s.count)).toEqual(before.map((s) => s.count + 1))
    })
  )
})
