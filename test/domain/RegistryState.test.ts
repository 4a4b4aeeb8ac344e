import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc, HashMap, Option, RedBlackTree } from "effect"
import type { RunOutcome } from "../../src/domain/Outcome.js"
import { settle } from "../../src/domain/Outcome.js"
import { entryOf } from "../../src/domain/IdempotencyKey.js"
import * as State from "../../src/domain/RegistryState.js"
import * as Task from "../../src/domain/Task.js"
import { TaskId } from "../../src/domain/TaskId.js"

interface Spec {
  readonly id: string
  readonly status: Task.TaskStatus
  readonly completedAt: number
  readonly kind: string
}

const specs = fc.uniqueArray(
  fc.record({
    id: fc.uuid({ version: 4 }),
    status: fc.constantFrom<Task.TaskStatus>("PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"),
    // A narrow range, so that ties on completedAt (broken by id) are common.
    completedAt: fc.integer({ min: 0, max: 50 }),
    kind: fc.constantFrom("a", "b", "c")
  }),
  { selector: (s) => s.id, maxLength: 60 }
)

const toTask = (spec: Spec): Task.Task => {
  const id = TaskId.make(spec.id)
  const pending = Task.pending({ id, kind: spec.kind, payload: null, total: 1, createdAt: 0 })
  const run = (t: Task.Task) => Option.getOrThrow(Option.getRight(Task.start(0, "claim")(t)))
  switch (spec.status) {
    case "PENDING":
      return pending
    case "PROCESSING":
      return run(pending)
    case "COMPLETED":
      return Option.getOrThrow(Option.getRight(Task.complete(spec.completedAt)(run(pending))))
    case "FAILED":
      return Option.getOrThrow(Option.getRight(Task.fail(spec.completedAt, "x")(run(pending))))
    case "CANCELLED":
      return Option.getOrThrow(Option.getRight(Task.cancel(spec.completedAt, "x")(pending)))
  }
}

const build = (list: ReadonlyArray<Spec>, tombstoneCapacity = 1000) =>
  list.map(toTask).reduce((s, t) => State.put(t)(s), State.empty({ tombstoneCapacity }))

const ids = (tasks: Iterable<Task.Task>) => new Set(Array.from(tasks, (t) => t.id))

/** The finished index holds exactly the finished records of the map, each under its own key. */
const indexAgrees = (s: State.RegistryState) => {
  const finishedInMap = Array.from(HashMap.values(s.tasks)).filter(Task.isFinished)
  const indexed = Array.from(RedBlackTree.values(s.finished))
  return (
    indexed.length === finishedInMap.length &&
    indexed.every((t) => Option.getOrUndefined(HashMap.get(s.tasks, t.id)) === t)
  )
}

const byAge = (a: Task.FinishedTask, b: Task.FinishedTask) =>
  a.completedAt - b.completedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

describe("evictExpired", () => {
  it.prop(
    "removes exactly the finished records past the threshold, and never an active one",
    [specs, fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 30 })],
    ([list, now, threshold]) => {
      const before = build(list)
      const { evicted, state } = State.evictExpired(now, threshold)(before)
      const eligible = list.filter(
        (s) => s.status !== "PENDING" && s.status !== "PROCESSING" && now - s.completedAt > threshold
      )
      expect(ids(evicted)).toEqual(new Set(eligible.map((s) => s.id)))
      expect(ids(HashMap.values(state.tasks))).toEqual(
        new Set(list.filter((s) => !eligible.includes(s)).map((s) => s.id))
      )
      expect(indexAgrees(state)).toBe(true)
      expect(evicted.every((t) => Option.isSome(State.tombstone(t.id)(state)))).toBe(true)
    }
  )

  it.prop(
    "changes nothing more when applied twice",
    [specs, fc.integer({ min: 0, max: 60 }), fc.nat(30)],
    ([list, now, threshold]) => {
      const once = State.evictExpired(now, threshold)(build(list)).state
      const twice = State.evictExpired(now, threshold)(once)
      expect(twice.evicted).toEqual([])
      expect(twice.state).toBe(once)
    }
  )

  it.prop("keeps the index and the map in agreement through any interleaving", [specs], ([list]) => {
    expect(indexAgrees(build(list))).toBe(true)
  })
})

describe("enforceCap", () => {
  it.prop(
    "keeps at most maxRetained finished records, dropping the oldest, never an active one",
    [specs, fc.nat(70)],
    ([list, max]) => {
      const before = build(list)
      const { evicted, state } = State.enforceCap(100, max)(before)
      const finished = Array.from(RedBlackTree.values(before.finished)).sort(byAge)
      const expected = finished.slice(0, Math.max(0, finished.length - max))
      expect(evicted.map((t) => t.id)).toEqual(expected.map((t) => t.id))
      expect(State.finishedCount(state)).toBe(Math.min(finished.length, max))
      expect(State.activeCount(state)).toBe(State.activeCount(before))
      expect(indexAgrees(state)).toBe(true)
      expect(State.enforceCap(100, max)(state).evicted).toEqual([])
    }
  )
})

describe("tombstones", () => {
  it.prop("keep only the newest `capacity` evictions", [specs, fc.nat(10)], ([list, capacity]) => {
    const { evicted, state } = State.evictExpired(1000, 0)(build(list, capacity))
    const kept = evicted.slice(Math.max(0, evicted.length - capacity))
    expect(HashMap.size(state.tombstones.byId)).toBe(kept.length)
    expect(kept.every((t) => Option.isSome(State.tombstone(t.id)(state)))).toBe(true)
  })

  it("a second eviction pushes the oldest tombstones out of a full ring", () => {
    const first = build(
      [
        { id: "00000000-0000-4000-8000-000000000001", status: "COMPLETED", completedAt: 0, kind: "a" },
        { id: "00000000-0000-4000-8000-000000000002", status: "FAILED", completedAt: 1, kind: "a" }
      ],
      2
    )
    const afterFirst = State.evictExpired(10, 0)(first).state
    const next = toTask({ id: "00000000-0000-4000-8000-000000000003", status: "CANCELLED", completedAt: 20, kind: "a" })
    if (!Task.isFinished(next)) throw new Error("expected a finished task")
    const afterSecond = State.evictExpired(30, 0)(State.putFinished(next)(afterFirst)).state
    const has = (id: string) => Option.isSome(State.tombstone(TaskId.make(id))(afterSecond))
    expect([
      has("00000000-0000-4000-8000-000000000001"),
      has("00000000-0000-4000-8000-000000000002"),
      has("00000000-0000-4000-8000-000000000003")
    ]).toEqual([false, true, true])
    expect(Option.map(State.tombstone(next.id)(afterSecond), (t) => [t.status, t.completedAt, t.evictedAt])).toEqual(
      Option.some(["CANCELLED", 20, 30])
    )
  })
})

describe("the pending queue", () => {
  it.prop(
    "holds exactly the PENDING records, and a claim takes the oldest of the asked kinds",
    [specs, fc.subarray(["a", "b", "c"])],
    ([list, kinds]) => {
      const state = build(list)
      const pendings = list.filter((s) => s.status === "PENDING")
      expect(State.pendingCount(state)).toBe(pendings.length)
      const oldest = pendings.find((s) => kinds.includes(s.kind))
      expect(Option.map(State.nextPending(kinds)(state), (t) => t.id)).toEqual(Option.fromNullable(oldest?.id))
    }
  )

  it.prop("claiming every task in turn takes them in arrival order, whatever their kinds", [specs], ([list]) => {
    let state = build(list)
    const order: Array<string> = []
    for (;;) {
      const next = State.nextPending(["a", "b", "c"])(state)
      if (Option.isNone(next)) break
      order.push(next.value.id)
      state = State.put(Either.getOrThrow(Task.start(0, "c")(next.value)))(state)
    }
    expect(order).toEqual(list.filter((s) => s.status === "PENDING").map((s) => s.id))
    expect(State.pendingCount(state)).toBe(0)
  })

  it("a cancelled PENDING task leaves the queue; a released one rejoins it at the end", () => {
    const [a, b] = ["00000000-0000-4000-8000-00000000000a", "00000000-0000-4000-8000-00000000000b"].map((id) =>
      Task.pending({ id: TaskId.make(id), kind: "a", payload: null, total: 1, createdAt: 0 })
    )
    const both = State.put(b!)(State.put(a!)(State.empty({ tombstoneCapacity: 1 })))
    const cancelled = State.put(Either.getOrThrow(Task.cancel(1, "x")(a!)))(both)
    expect(Option.map(State.nextPending(["a"])(cancelled), (t) => t.id)).toEqual(Option.some(b!.id))
    const claimedA = State.put(Either.getOrThrow(Task.start(1, "c")(a!)))(both)
    const released = Either.getOrThrow(Task.release()(Option.getOrThrow(State.lookup(a!.id)(claimedA))))
    const requeued = State.put(released)(claimedA)
    expect(State.pendingCount(requeued)).toBe(2)
    expect(Option.map(State.nextPending(["a"])(requeued), (t) => t.id)).toEqual(Option.some(b!.id))
  })
})

const operation = fc.oneof(
  fc.record({
    op: fc.constant("submit" as const),
    kind: fc.constantFrom("a", "b"),
    weight: fc.nat(9),
    keyed: fc.boolean()
  }),
  fc.record({ op: fc.constant("claim" as const), kinds: fc.subarray(["a", "b"]) }),
  fc.record({ op: fc.constant("cancel" as const), pick: fc.nat() }),
  fc.record({
    op: fc.constant("finish" as const),
    pick: fc.nat(),
    outcome: fc.constantFrom<RunOutcome>(
      { _tag: "Succeeded" },
      { _tag: "Failed", message: "m" },
      { _tag: "Interrupted" }
    )
  }),
  fc.record({ op: fc.constant("release" as const), pick: fc.nat() }),
  fc.record({ op: fc.constant("evict" as const), threshold: fc.nat(30), cap: fc.nat(5) })
)

describe("the registry state as a model", () => {
  it.prop(
    "keeps its queue, its finished index, its active weight, its claims and its keys in agreement with its records",
    [fc.array(operation, { maxLength: 80 }), fc.nat(3)],
    ([operations, tombstoneCapacity]) => {
      let state = State.empty({ tombstoneCapacity })
      const keyOf = new Map<TaskId, string>()
      const ids: Array<TaskId> = []
      const pick = (n: number) =>
        ids.length === 0 ? undefined : Option.getOrUndefined(State.lookup(ids[n % ids.length]!)(state))
      const apply = (move: Either.Either<Task.Task, Task.InvalidTransition> | undefined) => {
        if (move !== undefined && Either.isRight(move)) state = State.put(move.right)(state)
      }
      operations.forEach((o, now) => {
        switch (o.op) {
          case "submit": {
            const id = TaskId.make(`00000000-0000-4000-8000-${String(ids.length).padStart(12, "0")}`)
            ids.push(id)
            const task = Task.pending({ id, kind: o.kind, payload: null, total: 2, weight: o.weight, createdAt: now })
            state = State.enqueue(task)(state)
            if (o.keyed) {
              keyOf.set(id, `key ${id}`)
              state = State.remember(`key ${id}`, entryOf(task, "fingerprint"))(state)
            }
            break
          }
          case "claim":
            apply(Option.getOrUndefined(Option.map(State.nextPending(o.kinds)(state), Task.start(now, `c${now}`))))
            break
          case "cancel":
            apply(Option.getOrUndefined(Option.map(Option.fromNullable(pick(o.pick)), Task.cancel(now, "x"))))
            break
          case "finish":
            apply(Option.getOrUndefined(Option.map(Option.fromNullable(pick(o.pick)), settle(o.outcome, now))))
            break
          case "release":
            apply(Option.getOrUndefined(Option.map(Option.fromNullable(pick(o.pick)), Task.release())))
            break
          case "evict":
            state = State.evict(now, { thresholdMs: o.threshold, maxRetained: o.cap })(state).state
        }
        const records = Array.from(HashMap.values(state.tasks))
        const active = records.filter(Task.isActive)
        expect(state.activeWeight).toBe(active.reduce((sum, t) => sum + t.weight, 0))
        expect(State.pendingCount(state)).toBe(records.filter((t) => t._tag === "PENDING").length)
        expect(State.finishedCount(state)).toBe(records.filter(Task.isFinished).length)
        let queued = 0
        for (const [, queue] of state.queue.byKind) queued += RedBlackTree.size(queue)
        expect(queued).toBe(State.pendingCount(state))
        expect(indexAgrees(state)).toBe(true)
        // A claim is live exactly while its task is PROCESSING under it.
        const running = records.filter((t): t is Task.Processing => t._tag === "PROCESSING")
        expect(HashMap.size(state.claims)).toBe(running.length)
        for (const t of running)
          expect(Option.map(State.claimedBy(t.claim)(state), (c) => c.id)).toEqual(Option.some(t.id))
        // A key is held exactly while its task's record or tombstone is: never more keys than records and tombstones.
        expect(State.keyCount(state)).toBeLessThanOrEqual(
          HashMap.size(state.tasks) + HashMap.size(state.tombstones.byId)
        )
        for (const [id, key] of keyOf) {
          const held = HashMap.has(state.tasks, id) || HashMap.has(state.tombstones.byId, id)
          expect(Option.map(State.keyed(key)(state), (e) => e.taskId)).toEqual(held ? Option.some(id) : Option.none())
        }
      })
    },
    { fastCheck: { numRuns: 500 } }
  )
})

const empty = (tombstoneCapacity = 1000) => State.empty({ tombstoneCapacity })
const idOf = (n: number) => TaskId.make(`00000000-0000-4000-8000-${String(n).padStart(12, "0")}`)
const pendingOf = (n: number, kind = "a") => Task.pending({ id: idOf(n), kind, payload: null, total: 2, createdAt: 0 })
const startOf = (task: Task.Task, claim: string) => Either.getOrThrow(Task.start(0, claim)(task))
const finishedOf = (n: number, completedAt: number): Task.FinishedTask =>
  Either.getOrThrow(Task.complete(completedAt)(startOf(pendingOf(n), `claim ${n}`)))

describe("claims", () => {
  it("a report under a live claim is still applied after the task moves on under the same claim", () => {
    const running = startOf(pendingOf(1), "c")
    const reported = State.markReported("c", 1)(State.put(running)(State.enqueue(pendingOf(1))(empty())))
    const segment = new Task.CompletedSegment({ segmentId: "s", audioUrl: "u", durationSeconds: 1 })
    const moved = State.put(Either.getOrThrow(Task.segmentDone(segment)(running)))(reported)
    expect(State.hasReported("c", 1)(moved)).toBe(true)
    expect(State.hasReported("c", 2)(moved)).toBe(false)
    expect(Option.map(State.claimedBy("c")(moved), (t) => t.completedSegments.length)).toEqual(Option.some(1))
  })

  it("a task that ends its run drops only a claim it holds, not another task's under the same token", () => {
    const [a, b] = [startOf(pendingOf(1), "c"), startOf(pendingOf(2), "c")]
    const both = State.put(b)(State.put(a)(State.put(pendingOf(2))(State.put(pendingOf(1))(empty()))))
    expect(Option.map(State.claimedBy("c")(both), (t) => t.id)).toEqual(Option.some(b.id))
    const aEnded = State.put(Either.getOrThrow(Task.cancel(1, "x")(a)))(both)
    expect(Option.map(State.claimedBy("c")(aEnded), (t) => t.id)).toEqual(Option.some(b.id))
    const bEnded = State.put(Either.getOrThrow(Task.complete(2)(b)))(aEnded)
    expect(State.claimedBy("c")(bEnded)).toEqual(Option.none())
  })

  it("a report under a claim that is not live is not noted: the state is answered unchanged", () => {
    const state = State.put(startOf(pendingOf(1), "c"))(State.enqueue(pendingOf(1))(empty()))
    expect(State.markReported("other", 1)(state)).toBe(state)
    expect(State.hasReported("other", 1)(State.markReported("other", 1)(state))).toBe(false)
  })
})

describe("evict", () => {
  it.prop(
    "is evictExpired then enforceCap: the records of both go, and both lists are answered, age first",
    [specs, fc.integer({ min: 0, max: 60 }), fc.nat(30), fc.nat(20)],
    ([list, now, thresholdMs, maxRetained]) => {
      const before = build(list)
      const byAge = State.evictExpired(now, thresholdMs)(before)
      const byCap = State.enforceCap(now, maxRetained)(byAge.state)
      const both = State.evict(now, { thresholdMs, maxRetained })(before)
      expect(both.evicted.map((t) => t.id)).toEqual([...byAge.evicted, ...byCap.evicted].map((t) => t.id))
      expect(ids(HashMap.values(both.state.tasks))).toEqual(ids(HashMap.values(byCap.state.tasks)))
      expect(State.finishedCount(both.state)).toBeLessThanOrEqual(maxRetained)
      expect(both.evicted.every((t) => Option.isSome(State.tombstone(t.id)(both.state)))).toBe(true)
    }
  )

  it("a finish over the cap evicts the oldest record even when none has expired", () => {
    const state = [finishedOf(1, 10), finishedOf(2, 20)].reduce((s, t) => State.put(t)(s), empty())
    const { evicted, state: after } = State.evict(21, { thresholdMs: 100, maxRetained: 1 })(state)
    expect(evicted.map((t) => t.id)).toEqual([idOf(1)])
    expect([State.lookup(idOf(1))(after), State.lookup(idOf(2))(after)].map(Option.isSome)).toEqual([false, true])
    expect(Option.map(State.tombstone(idOf(1))(after), (t) => t.evictedAt)).toEqual(Option.some(21))
  })
})

describe("a record put again under an evicted id", () => {
  it("keeps one place in the tombstone ring when it is evicted again", () => {
    const ring = (s: State.RegistryState) => [1, 2, 3].map((n) => Option.isSome(State.tombstone(idOf(n))(s)))
    let state = State.evictExpired(10, 0)(State.put(finishedOf(1, 0))(empty(2))).state
    state = State.evictExpired(20, 0)(State.put(finishedOf(1, 10))(state)).state
    expect(Option.map(State.tombstone(idOf(1))(state), (t) => [t.completedAt, t.evictedAt])).toEqual(
      Option.some([10, 20])
    )
    state = State.evictExpired(30, 0)(State.put(finishedOf(2, 20))(state)).state
    expect(ring(state)).toEqual([true, true, false])
    state = State.evictExpired(40, 0)(State.put(finishedOf(3, 30))(state)).state
    expect(ring(state)).toEqual([false, true, true])
  })

  it("keeps its idempotency key while the record is held, though its old tombstone is dropped", () => {
    const task = pendingOf(1)
    let state = State.remember("k", entryOf(task, "fingerprint"))(State.enqueue(task)(empty(1)))
    state = State.evictExpired(10, 0)(State.put(finishedOf(1, 0))(state)).state
    expect(Option.map(State.keyed("k")(state), (e) => e.taskId)).toEqual(Option.some(idOf(1)))
    state = State.enqueue(pendingOf(1))(state)
    state = State.evictExpired(20, 0)(State.put(finishedOf(2, 10))(state)).state
    expect(State.tombstone(idOf(1))(state)).toEqual(Option.none())
    expect(Option.map(State.keyed("k")(state), (e) => e.taskId)).toEqual(Option.some(idOf(1)))
    state = State.evictExpired(30, 0)(State.put(finishedOf(1, 20))(state)).state
    state = State.evictExpired(40, 0)(State.put(finishedOf(3, 30))(state)).state
    expect(State.keyed("k")(state)).toEqual(Option.none())
  })
})
