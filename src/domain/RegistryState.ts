import { Data, HashMap, Option, Order, RedBlackTree, Schema } from "effect"
import * as ClaimLedger from "./ClaimLedger.js"
import type { KeyEntry } from "./IdempotencyKey.js"
import type { FinishedTask, Pending, Processing, Task } from "./Task.js"
import { EpochMillis, FinishedStatus } from "./Task.js"
import { TaskId } from "./TaskId.js"

/** What is left of an evicted task: enough to answer "it existed, this is how it ended" instead of "unknown". */
export class Tombstone extends Schema.Class<Tombstone>("Tombstone")({
  id: TaskId,
  status: FinishedStatus,
  completedAt: EpochMillis,
  evictedAt: EpochMillis
}) {}

/** Orders finished records by completion time, ties broken by id, so the oldest is always first. */
type FinishedKey = readonly [completedAt: number, id: TaskId]
const finishedOrder: Order.Order<FinishedKey> = Order.tuple(Order.number, Order.string)

/**
 * The whole registry as one immutable value, so that every change is a single `Ref.modify`.
 * `finished` indexes exactly the terminal records of `tasks`; tombstones form a ring bounded by `capacity`,
 * oldest (lowest sequence number) dropped first.
 */
export interface RegistryState {
  readonly tasks: HashMap.HashMap<TaskId, Task>
  readonly finished: RedBlackTree.RedBlackTree<FinishedKey, FinishedTask>
  /**
   * The PENDING tasks, one queue per kind, each ordered by arrival (a sequence number, so that tasks submitted in
   * the same millisecond still run in order). A worker claims the oldest among the kinds it handles.
   */
  readonly queue: {
    readonly byKind: HashMap.HashMap<string, RedBlackTree.RedBlackTree<number, TaskId>>
    readonly seqOf: HashMap.HashMap<TaskId, number>
    readonly nextSeq: number
  }
  /** The weight of every PENDING and PROCESSING task, kept with each change so that admission is O(1). */
  readonly activeWeight: number
  readonly tombstones: {
    readonly byId: HashMap.HashMap<TaskId, Tombstone>
    readonly order: RedBlackTree.RedBlackTree<number, TaskId>
    readonly nextSeq: number
    readonly capacity: number
  }
  /**
   * Idempotency keys, each naming the task its first submit made. A key is held exactly while its task's record or
   * tombstone is, so keys are bounded as records are: eviction drops a key when it drops the last trace of its task.
   */
  readonly keys: {
    readonly byKey: HashMap.HashMap<string, KeyEntry>
    readonly keyOf: HashMap.HashMap<TaskId, string>
  }
  /** The live claims, by token: one per PROCESSING task, kept by every change that starts or ends a claim. */
  readonly claims: HashMap.HashMap<string, ClaimLedger.ClaimLedger>
}

export interface Eviction {
  readonly state: RegistryState
  readonly evicted: ReadonlyArray<FinishedTask>
}

export const empty = (options: { readonly tombstoneCapacity: number }): RegistryState => ({
  tasks: HashMap.empty(),
  finished: RedBlackTree.empty(finishedOrder),
  queue: { byKind: HashMap.empty(), seqOf: HashMap.empty(), nextSeq: 0 },
  activeWeight: 0,
  tombstones: {
    byId: HashMap.empty(),
    order: RedBlackTree.empty(Order.number),
    nextSeq: 0,
    capacity: options.tombstoneCapacity
  },
  keys: { byKey: HashMap.empty(), keyOf: HashMap.empty() },
  claims: HashMap.empty()
})

const activeWeightOf = (task: Task): number => (task._tag === "PENDING" || task._tag === "PROCESSING" ? task.weight : 0)

/** The active weight once `task` replaces its previous record: a task holds its weight exactly while active. */
const reweigh = (state: RegistryState, task: Task): number =>
  state.activeWeight -
  Option.match(HashMap.get(state.tasks, task.id), { onNone: () => 0, onSome: activeWeightOf }) +
  activeWeightOf(task)

const keyOf = (task: FinishedTask): FinishedKey => Data.tuple(task.completedAt, task.id)

/** The live claims once `task` replaces its previous record: a claim starts and ends with its task's PROCESSING. */
const reclaim = (state: RegistryState, task: Task): RegistryState["claims"] => {
  const previous = Option.getOrUndefined(HashMap.get(state.tasks, task.id))
  const before = previous?._tag === "PROCESSING" ? previous.claim : undefined
  const after = task._tag === "PROCESSING" ? task.claim : undefined
  if (before === after) return state.claims
  let claims = state.claims
  if (before !== undefined && Option.exists(HashMap.get(claims, before), (c) => c.taskId === task.id)) {
    claims = HashMap.remove(claims, before)
  }
  return after === undefined ? claims : HashMap.set(claims, after, ClaimLedger.make(task.id))
}

export const finishedCount = (state: RegistryState): number => RedBlackTree.size(state.finished)

export const activeCount = (state: RegistryState): number => HashMap.size(state.tasks) - finishedCount(state)

/** PENDING tasks: the size of the queue, never a scan of the records. */
export const pendingCount = (state: RegistryState): number => HashMap.size(state.queue.seqOf)

export const lookup =
  (id: TaskId) =>
  (state: RegistryState): Option.Option<Task> =>
    HashMap.get(state.tasks, id)

export const tombstone =
  (id: TaskId) =>
  (state: RegistryState): Option.Option<Tombstone> =>
    HashMap.get(state.tombstones.byId, id)

/** The oldest finished record, the next one eviction would take. */
export const oldestFinished = (state: RegistryState): Option.Option<FinishedTask> =>
  Option.map(RedBlackTree.first(state.finished), ([, task]) => task)

const dequeue = (queue: RegistryState["queue"], task: Task): RegistryState["queue"] => {
  const seq = HashMap.get(queue.seqOf, task.id)
  if (Option.isNone(seq)) return queue
  const rest = HashMap.get(queue.byKind, task.kind).pipe(
    Option.map((q) => RedBlackTree.removeFirst(q, seq.value)),
    Option.filter((q) => RedBlackTree.size(q) > 0)
  )
  return {
    ...queue,
    byKind: Option.match(rest, {
      onNone: () => HashMap.remove(queue.byKind, task.kind),
      onSome: (q) => HashMap.set(queue.byKind, task.kind, q)
    }),
    seqOf: HashMap.remove(queue.seqOf, task.id)
  }
}

/** Adds a PENDING task (new, or handed back by its worker) at the end of its kind's queue. */
export const enqueue =
  (task: Pending) =>
  (state: RegistryState): RegistryState => {
    const { byKind, nextSeq, seqOf } = dequeue(state.queue, task)
    const queue = Option.getOrElse(HashMap.get(byKind, task.kind), () =>
      RedBlackTree.empty<number, TaskId>(Order.number)
    )
    return {
      ...state,
      tasks: HashMap.set(state.tasks, task.id, task),
      activeWeight: reweigh(state, task),
      claims: reclaim(state, task),
      queue: {
        byKind: HashMap.set(byKind, task.kind, RedBlackTree.insert(queue, nextSeq, task.id)),
        seqOf: HashMap.set(seqOf, task.id, nextSeq),
        nextSeq: nextSeq + 1
      }
    }
  }

/** The oldest PENDING task among `kinds`: O(k log n) for k kinds. */
export const nextPending =
  (kinds: Iterable<string>) =>
  (state: RegistryState): Option.Option<Pending> => {
    let oldest: readonly [number, TaskId] | undefined
    for (const kind of kinds) {
      const first = Option.flatMap(HashMap.get(state.queue.byKind, kind), RedBlackTree.first)
      if (Option.isSome(first) && (oldest === undefined || first.value[0] < oldest[0])) oldest = first.value
    }
    if (oldest === undefined) return Option.none()
    return Option.filter(HashMap.get(state.tasks, oldest[1]), (t): t is Pending => t._tag === "PENDING")
  }

/** Replaces an active task with its next active state (a PENDING one leaves the queue once claimed). */
export const putRunning =
  (task: Processing) =>
  (state: RegistryState): RegistryState => ({
    ...state,
    tasks: HashMap.set(state.tasks, task.id, task),
    activeWeight: reweigh(state, task),
    claims: reclaim(state, task),
    queue: dequeue(state.queue, task)
  })

/** Replaces an active task with its terminal state and indexes it for eviction. */
export const putFinished =
  (task: FinishedTask) =>
  (state: RegistryState): RegistryState => ({
    ...state,
    tasks: HashMap.set(state.tasks, task.id, task),
    activeWeight: reweigh(state, task),
    claims: reclaim(state, task),
    finished: RedBlackTree.insert(state.finished, keyOf(task), task),
    queue: dequeue(state.queue, task)
  })

/** Puts any next state of a task where it belongs. */
export const put = (task: Task): ((state: RegistryState) => RegistryState) => {
  switch (task._tag) {
    case "PENDING":
      return enqueue(task)
    case "PROCESSING":
      return putRunning(task)
    default:
      return putFinished(task)
  }
}

/** Is this finished record past its retention period? Strictly greater: a record exactly at the threshold stays. */
export const isExpired =
  (now: number, thresholdMs: number) =>
  (task: FinishedTask): boolean =>
    now - task.completedAt > thresholdMs

/** The tombstone a finished record leaves when it is evicted at `now`. */
export const tombstoneOf = (task: FinishedTask, now: number): Tombstone =>
  new Tombstone(
    { id: task.id, status: task._tag, completedAt: task.completedAt, evictedAt: now },
    { disableValidation: true }
  )

/** Tombstones for `evicted`, and the ids whose tombstones the ring dropped to make room. */
const buryAll = (
  tombstones: RegistryState["tombstones"],
  evicted: ReadonlyArray<FinishedTask>,
  now: number
): readonly [RegistryState["tombstones"], ReadonlyArray<TaskId>] => {
  let { byId, nextSeq, order } = tombstones
  const dropped: Array<TaskId> = []
  // Only the newest `capacity` of this batch can survive; skip the rest instead of inserting and dropping them.
  for (const task of evicted.slice(Math.max(0, evicted.length - tombstones.capacity))) {
    const stone = tombstoneOf(task, now)
    const previous = HashMap.get(byId, task.id)
    byId = HashMap.set(byId, task.id, stone)
    if (Option.isNone(previous)) {
      order = RedBlackTree.insert(order, nextSeq++, task.id)
    }
  }
  while (RedBlackTree.size(order) > tombstones.capacity) {
    const [seq, id] = Option.getOrThrow(RedBlackTree.first(order))
    order = RedBlackTree.removeFirst(order, seq)
    byId = HashMap.remove(byId, id)
    dropped.push(id)
  }
  return [{ ...tombstones, byId, order, nextSeq }, dropped]
}

/** Drops the keys of those of `ids` whose task has left no record and no tombstone in `state`. */
const forgetKeys = (state: RegistryState, ids: Iterable<TaskId>): RegistryState["keys"] => {
  let { byKey, keyOf } = state.keys
  // The usual case, a registry whose clients send no keys, pays nothing here.
  if (HashMap.isEmpty(keyOf)) return state.keys
  for (const id of ids) {
    const key = HashMap.get(keyOf, id)
    if (Option.isNone(key) || HashMap.has(state.tasks, id) || HashMap.has(state.tombstones.byId, id)) continue
    byKey = HashMap.remove(byKey, key.value)
    keyOf = HashMap.remove(keyOf, id)
  }
  return { byKey, keyOf }
}

/** Evicts finished records oldest first while `shouldEvict` holds for the oldest; touches nothing else. */
const evictOldestWhile = (
  state: RegistryState,
  now: number,
  shouldEvict: (oldest: FinishedTask, finishedCount: number) => boolean
): Eviction => {
  let { finished, tasks } = state
  const evicted: Array<FinishedTask> = []
  for (;;) {
    const oldest = RedBlackTree.first(finished)
    if (Option.isNone(oldest)) break
    const [key, task] = oldest.value
    if (!shouldEvict(task, RedBlackTree.size(finished))) break
    finished = RedBlackTree.removeFirst(finished, key)
    tasks = HashMap.remove(tasks, task.id)
    evicted.push(task)
  }
  if (evicted.length === 0) return { state, evicted }
  const [tombstones, dropped] = buryAll(state.tombstones, evicted, now)
  const next = { ...state, tasks, finished, tombstones }
  const gone = [...evicted.map((task) => task.id), ...dropped]
  return { state: { ...next, keys: forgetKeys(next, gone) }, evicted }
}

/**
 * Removes every finished record with `now - completedAt > thresholdMs`, leaving a tombstone for each.
 * Active records are never touched. Costs O(k log n) for k evicted records: it walks the finished index from
 * its oldest end and stops at the first record still within the threshold.
 */
export const evictExpired =
  (now: number, thresholdMs: number) =>
  (state: RegistryState): Eviction =>
    evictOldestWhile(state, now, isExpired(now, thresholdMs))

/** Removes the oldest finished records until at most `maxRetained` remain; active records are never touched. */
export const enforceCap =
  (now: number, maxRetained: number) =>
  (state: RegistryState): Eviction =>
    // The count is O(1): under the cap, which is the usual case, nothing is walked at all.
    finishedCount(state) <= maxRetained
      ? { state, evicted: [] }
      : evictOldestWhile(state, now, (_, count) => count > maxRetained)

/** Both rules in one step: age first, then the cap. */
export const evict =
  (now: number, policy: { readonly thresholdMs: number; readonly maxRetained: number }) =>
  (state: RegistryState): Eviction => {
    const byAge = evictExpired(now, policy.thresholdMs)(state)
    const byCap = enforceCap(now, policy.maxRetained)(byAge.state)
    return { state: byCap.state, evicted: [...byAge.evicted, ...byCap.evicted] }
  }

/** The task running under `token`, while that claim is live. */
export const claimedBy =
  (token: string) =>
  (state: RegistryState): Option.Option<Processing> =>
    HashMap.get(state.claims, token).pipe(
      Option.flatMap((ledger) => HashMap.get(state.tasks, ledger.taskId)),
      Option.filter((task): task is Processing => task._tag === "PROCESSING" && task.claim === token)
    )

/** Has report `n` under the live claim `token` been applied? */
export const hasReported =
  (token: string, n: number) =>
  (state: RegistryState): boolean =>
    Option.exists(HashMap.get(state.claims, token), ClaimLedger.hasApplied(n))

/** Notes report `n` as applied under the live claim `token` (nothing if the claim is not live). */
export const markReported =
  (token: string, n: number) =>
  (state: RegistryState): RegistryState =>
    Option.match(HashMap.get(state.claims, token), {
      onNone: () => state,
      onSome: (ledger) => ({ ...state, claims: HashMap.set(state.claims, token, ClaimLedger.markApplied(n)(ledger)) })
    })

/** The entry of an idempotency key, while its task's record or tombstone is held. */
export const keyed =
  (key: string) =>
  (state: RegistryState): Option.Option<KeyEntry> =>
    HashMap.get(state.keys.byKey, key)

/** Holds `key` as naming the task of `entry` (whose record the same step stores). */
export const remember =
  (key: string, entry: KeyEntry) =>
  (state: RegistryState): RegistryState => ({
    ...state,
    keys: {
      byKey: HashMap.set(state.keys.byKey, key, entry),
      keyOf: HashMap.set(state.keys.keyOf, entry.taskId, key)
    }
  })

/** Keys held: never more than records and tombstones held. */
export const keyCount = (state: RegistryState): number => HashMap.size(state.keys.byKey)
