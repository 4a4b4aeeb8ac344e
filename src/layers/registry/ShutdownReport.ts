import { Effect, HashSet, Layer, Ref } from "effect"
import type { RunOutcome } from "../../domain/Outcome.js"
import type { Processing } from "../../domain/Task.js"
import { TaskQueue } from "../../services/TaskQueue.js"
import type { TaskStore } from "../../services/Settings.js"

/** What became of the tasks that a shutdown stopped: ids, so that a finish retried is counted once. */
interface Stopped {
  readonly stopped: HashSet.HashSet<string>
  readonly written: HashSet.HashSet<string>
  readonly lost: HashSet.HashSet<string>
}

/** The line an operator reads: how many running tasks the shutdown stopped, and where each of them went. */
export const describe = (store: TaskStore, written: number, unwritten: number): string =>
  store === "memory"
    ? `Shutting down: ${written} running task(s) ended CANCELLED ("server shut down")`
    : `Shutting down: handed ${written} running task(s) back to PENDING for another process` +
      (unwritten === 0
        ? ""
        : `; ${unwritten} could not be handed back (the task store did not answer in time) and go back to PENDING ` +
          "when their claim's lease (TASK_LEASE) runs out, as after a crash")

/**
 * The workers' queue, unchanged but for one log line when its scope closes: how many tasks the workers handed back
 * on shutdown (to PENDING on a shared store, CANCELLED in memory), and how many could not be written and are left
 * to their lease. Provided under the workers, so that it closes after them, once every worker has given up.
 */
export const make = (store: TaskStore) =>
  Effect.gen(function* () {
    const queue = yield* TaskQueue
    const state = yield* Ref.make<Stopped>({
      stopped: HashSet.empty(),
      written: HashSet.empty(),
      lost: HashSet.empty()
    })
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        const { stopped, written, lost } = yield* Ref.get(state)
        if (HashSet.size(stopped) === 0) return
        // A task cancelled while it was being stopped is final already: neither handed back nor left to a lease.
        const unwritten = HashSet.size(HashSet.difference(HashSet.difference(stopped, written), lost))
        yield* Effect.logInfo(describe(store, HashSet.size(written), unwritten)).pipe(
          Effect.annotateLogs({ handedBack: HashSet.size(written), leftToLease: unwritten })
        )
      })
    )
    const mark = (field: "written" | "lost", id: string) =>
      Ref.update(state, (s) => ({ ...s, [field]: HashSet.add(s[field], id) }))
    const finish = (claim: Processing, outcome: RunOutcome) =>
      outcome._tag !== "Shutdown"
        ? queue.finish(claim, outcome)
        : Ref.update(state, (s) => ({ ...s, stopped: HashSet.add(s.stopped, claim.id) })).pipe(
            Effect.zipRight(queue.finish(claim, outcome)),
            Effect.tap(() => mark("written", claim.id)),
            Effect.tapErrorTag("ClaimLost", () => mark("lost", claim.id))
          )
    return TaskQueue.of({ ...queue, finish })
  })

/** The queue of the store below it, reporting on shutdown; `store` says which kind of store, for the wording. */
export const layer = (store: TaskStore): Layer.Layer<TaskQueue, never, TaskQueue> =>
  Layer.scoped(TaskQueue, make(store))
