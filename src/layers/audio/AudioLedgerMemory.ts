import { Array as Arr, Effect, HashMap, Layer, Option, Order, Ref, Schema } from "effect"
import { isActive } from "../../domain/Task.js"
import { TaskId } from "../../domain/TaskId.js"
import type { Admission } from "../../services/AudioLedger.js"
import { AudioLedger } from "../../services/AudioLedger.js"
import type { AudioHolding } from "../../services/AudioStore.js"
import { TaskRegistry } from "../../services/TaskRegistry.js"

const decodeTaskId = Schema.decodeUnknownOption(TaskId)

/** One task's files (segment id → bytes), their total, and when the last of them was written. */
interface Held {
  readonly files: HashMap.HashMap<string, number>
  readonly bytes: number
  readonly lastWrite: number
}

interface State {
  readonly budget: number
  readonly tasks: HashMap.HashMap<string, Held>
  readonly held: number
  /** Tasks whose audio is being removed, with its bytes: still on disk until released. */
  readonly removing: HashMap.HashMap<string, number>
  readonly removingBytes: number
  /** Reservations of writes under way, by token. */
  readonly reserved: HashMap.HashMap<string, number>
  readonly reservedBytes: number
  readonly nextToken: number
}

const empty: State = {
  budget: 0,
  tasks: HashMap.empty(),
  held: 0,
  removing: HashMap.empty(),
  removingBytes: 0,
  reserved: HashMap.empty(),
  reservedBytes: 0,
  nextToken: 0
}

const holdingOrder = Order.mapInput(Order.number, (h: AudioHolding) => h.lastWrite)

const holdingsOf = (s: State): ReadonlyArray<AudioHolding> =>
  Arr.sort(
    Arr.map(HashMap.toEntries(s.tasks), ([taskId, h]) => ({ taskId, bytes: h.bytes, lastWrite: h.lastWrite })),
    holdingOrder
  )

/** Moves a task's audio from held to being removed; answers whether the ledger held any. */
const take =
  (taskId: string) =>
  (s: State): [boolean, State] =>
    Option.match(HashMap.get(s.tasks, taskId), {
      onNone: () => [false, s],
      onSome: (h) => [
        true,
        {
          ...s,
          tasks: HashMap.remove(s.tasks, taskId),
          held: s.held - h.bytes,
          removing: HashMap.modifyAt(s.removing, taskId, (b) => Option.some(Option.getOrElse(b, () => 0) + h.bytes)),
          removingBytes: s.removingBytes + h.bytes
        }
      ]
    })

/** Records a file of `bytes` for the segment, replacing an earlier one. */
const record = (s: State, taskId: string, segmentId: string, bytes: number, at: number, keep: boolean): State => {
  const before = Option.getOrElse(HashMap.get(s.tasks, taskId), () => ({
    files: HashMap.empty<string, number>(),
    bytes: 0,
    lastWrite: at
  }))
  const replaced = HashMap.get(before.files, segmentId)
  // Reconciling keeps what the ledger knows: a file it counts already is not counted again.
  if (keep && Option.isSome(replaced)) return s
  const old = Option.getOrElse(replaced, () => 0)
  return {
    ...s,
    tasks: HashMap.set(s.tasks, taskId, {
      files: HashMap.set(before.files, segmentId, bytes),
      bytes: before.bytes - old + bytes,
      lastWrite: Math.max(before.lastWrite, at)
    }),
    held: s.held - old + bytes
  }
}

const unreserve = (s: State, token: string): State =>
  Option.match(HashMap.get(s.reserved, token), {
    onNone: () => s,
    onSome: (size) => ({ ...s, reserved: HashMap.remove(s.reserved, token), reservedBytes: s.reservedBytes - size })
  })

/**
 * The ledger of one process's audio directory, in memory: the count that the process keeps as it writes and
 * removes. Whether a task is active is asked of the registry; one lock orders every decision to remove, so that two
 * writers never both count the same free space.
 */
export const make = Effect.gen(function* () {
  const registry = yield* TaskRegistry
  const state = yield* Ref.make(empty)
  const lock = yield* Effect.makeSemaphore(1)

  /**
   * Whether the task may have its audio removed: it has finished, or the registry no longer holds it (evicted, or
   * from before a restart). A registry that cannot be asked might hold the task as active: its audio is kept.
   */
  const finished = (taskId: string) =>
    Option.match(decodeTaskId(taskId), {
      // A directory that is not a task's was not written by the store: never touched.
      onNone: () => Effect.succeed(false),
      onSome: (id) =>
        registry.get(id).pipe(
          Effect.map((task) => !isActive(task)),
          Effect.catchTags({
            TaskNotFound: () => Effect.succeed(true),
            TaskExpired: () => Effect.succeed(true),
            TaskNoLongerHeld: () => Effect.succeed(true)
          }),
          Effect.orElseSucceed(() => false)
        )
    })

  /** Takes finished tasks' audio, oldest first, while `more` says so of the next holding; at most `limit`. */
  const takeWhile = (more: (s: State, holding: AudioHolding) => boolean, limit: number) =>
    Effect.gen(function* () {
      const victims: Array<string> = []
      for (const holding of holdingsOf(yield* Ref.get(state))) {
        if (victims.length >= limit || !more(yield* Ref.get(state), holding)) break
        if (!(yield* finished(holding.taskId))) continue
        if (yield* Ref.modify(state, take(holding.taskId))) victims.push(holding.taskId)
      }
      return victims
    })

  const budget = (ours: number) =>
    Effect.as(
      Ref.update(state, (s) => ({ ...s, budget: ours })),
      ours
    )

  const reserve = (taskId: string, size: number) =>
    lock.withPermits(1)(
      Effect.gen(function* () {
        const fits = (s: State) => s.budget === 0 || s.held + s.removingBytes + s.reservedBytes + size <= s.budget
        const victims = yield* takeWhile((s) => !fits(s), Number.MAX_SAFE_INTEGER)
        return yield* Ref.modify(state, (s): [Admission, State] => {
          if (fits(s) || s.held + s.removingBytes <= s.budget) {
            const token = String(s.nextToken)
            return [
              { _tag: "Admitted", token, victims },
              {
                ...s,
                reserved: HashMap.set(s.reserved, token, size),
                reservedBytes: s.reservedBytes + size,
                nextToken: s.nextToken + 1
              }
            ]
          }
          return [s.removingBytes > 0 ? { _tag: "Busy", victims } : { _tag: "Full", victims, maxBytes: s.budget }, s]
        })
      }).pipe(Effect.annotateLogs("taskId", taskId))
    )

  const pick = (cutoff: number, limit: number) =>
    lock.withPermits(1)(
      takeWhile((s, h) => h.lastWrite < cutoff || (s.budget > 0 && s.held > s.budget), Math.max(0, limit))
    )

  return AudioLedger.of({
    budget,
    reserve,
    commit: (token, taskId, segmentId, bytes, at) =>
      Ref.update(state, (s) => record(unreserve(s, token), taskId, segmentId, bytes, at, false)),
    cancel: (token) => Ref.update(state, (s) => unreserve(s, token)),
    pick,
    take: (taskId) => Ref.modify(state, take(taskId)),
    release: (taskId) =>
      Ref.update(state, (s) =>
        Option.match(HashMap.get(s.removing, taskId), {
          onNone: () => s,
          onSome: (bytes) => ({
            ...s,
            removing: HashMap.remove(s.removing, taskId),
            removingBytes: s.removingBytes - bytes
          })
        })
      ),
    reconcile: (found) =>
      Ref.update(state, (s) =>
        found.reduce(
          (acc, { files, lastWrite, taskId }) =>
            files.reduce((inner, [segmentId, bytes]) => record(inner, taskId, segmentId, bytes, lastWrite, true), acc),
          s
        )
      ),
    usage: Effect.map(Ref.get(state), (s) => ({ bytes: s.held + s.removingBytes, tasks: HashMap.size(s.tasks) })),
    holdings: Effect.map(Ref.get(state), holdingsOf)
  })
})

/** The ledger in memory, for one process: whether a task is active is asked of its registry. */
export const layer: Layer.Layer<AudioLedger, never, TaskRegistry> = Layer.effect(AudioLedger, make)
