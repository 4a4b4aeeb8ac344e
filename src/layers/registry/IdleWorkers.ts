import { Effect } from "effect"

/**
 * The idle workers of one kind set in this process, each asleep until it is woken. A wake-up goes to exactly one of
 * them, the one asleep longest. A wake-up that finds none asleep can be kept (one at most): a worker whose claim has
 * just found nothing, on its way to sleep, then claims once more instead of sleeping through work submitted in
 * between.
 *
 * Not an Effect `Queue`, which hands each element to one taker too: whoever wakes them needs to know, at the moment
 * a wake-up arrives and without a race, whether anyone is asleep (a Redis wake-up that finds no one is handed back),
 * and to hear when the first one falls asleep (the blocking wait on Redis runs only while someone sleeps).
 */
export interface Sleepers {
  /** The kinds these workers run. */
  readonly kinds: ReadonlyArray<string>
  /** One worker's sleep: ends when it is woken, at once if a wake-up was kept. */
  readonly sleep: Effect.Effect<void>
  /** Wakes the worker asleep longest; false, keeping nothing, if none is. */
  readonly wakeOne: () => boolean
  /** Wakes one worker, or keeps the wake-up for the next to fall asleep. */
  readonly wakeOrKeep: () => void
  /** How many are asleep right now. */
  readonly asleep: () => number
  /** Ends once at least one worker is asleep: at once if one is. */
  readonly someoneAsleep: Effect.Effect<void>
}

export const makeSleepers = (kinds: ReadonlyArray<string>): Sleepers => {
  // In the order they fell asleep (a Set keeps insertion order, and lets an interrupted sleeper leave in O(1)).
  const sleeping = new Set<() => void>()
  const watchers = new Set<() => void>()
  let kept = false
  const wakeOne = () => {
    for (const wake of sleeping) {
      sleeping.delete(wake)
      wake()
      return true
    }
    return false
  }
  return {
    kinds,
    sleep: Effect.async<void>((resume) => {
      if (kept) {
        kept = false
        return resume(Effect.void)
      }
      const wake = () => resume(Effect.void)
      sleeping.add(wake)
      if (sleeping.size === 1 && watchers.size > 0) {
        const waiting = [...watchers]
        watchers.clear()
        for (const watcher of waiting) watcher()
      }
      return Effect.sync(() => sleeping.delete(wake))
    }),
    wakeOne,
    wakeOrKeep: () => {
      if (!wakeOne()) kept = true
    },
    asleep: () => sleeping.size,
    someoneAsleep: Effect.async<void>((resume) => {
      if (sleeping.size > 0) return resume(Effect.void)
      const watcher = () => resume(Effect.void)
      watchers.add(watcher)
      return Effect.sync(() => watchers.delete(watcher))
    })
  }
}

/** The name of a kind set, the same whatever the order its kinds are given in (names cannot hold a comma). */
export const kindSetKey = (kinds: ReadonlyArray<string>) => [...new Set(kinds)].sort().join(",")

/**
 * The idle workers of every kind set in this process (the in-memory store's: a submit wakes them here). A task of a
 * kind wakes at most one worker that runs the kind, and never one that does not.
 */
export const make = () => {
  const sets = new Map<string, Sleepers>()
  return {
    /** The sleepers of the workers of `kinds`, made when the first such worker asks. */
    join: (kinds: ReadonlyArray<string>): Sleepers => {
      const key = kindSetKey(kinds)
      let set = sets.get(key)
      if (set === undefined) {
        set = makeSleepers(key.split(","))
        sets.set(key, set)
      }
      return set
    },
    /**
     * Says that a task of `kind` is waiting: wakes one idle worker that runs it, if one sleeps; else every kind set
     * that runs it keeps the wake-up, so that whichever of its workers next goes to sleep claims again first (no one
     * sleeps through the task). So a submit wakes at most one idle worker, however many sleep.
     */
    wake: (kind: string) => {
      const runners = [...sets.values()].filter((set) => set.kinds.includes(kind))
      for (const set of runners) if (set.wakeOne()) return
      for (const set of runners) set.wakeOrKeep()
    }
  }
}
