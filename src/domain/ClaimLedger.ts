import { HashSet } from "effect"
import type { TaskId } from "./TaskId.js"

/**
 * What a store remembers of one live claim, so that a worker may retry a call whose answer it never got: the task
 * the claim holds (a claim retried with its token answers that task again), and which of its numbered reports have
 * been applied (a report retried with its number is applied once). Reports made from parallel fibers may arrive out
 * of order, so this is a set, kept small as every number up to `upTo` plus the few above it that came early. It
 * lives exactly as long as the claim: at most one per running task.
 */
export interface ClaimLedger {
  readonly taskId: TaskId
  readonly upTo: number
  readonly above: HashSet.HashSet<number>
}

export const make = (taskId: TaskId): ClaimLedger => ({ taskId, upTo: 0, above: HashSet.empty() })

export const hasApplied =
  (n: number) =>
  (ledger: ClaimLedger): boolean =>
    n <= ledger.upTo || HashSet.has(ledger.above, n)

export const markApplied =
  (n: number) =>
  (ledger: ClaimLedger): ClaimLedger => {
    if (hasApplied(n)(ledger)) return ledger
    if (n !== ledger.upTo + 1) return { ...ledger, above: HashSet.add(ledger.above, n) }
    let { above, upTo } = ledger
    upTo = n
    while (HashSet.has(above, upTo + 1)) above = HashSet.remove(above, ++upTo)
    return { ...ledger, upTo, above }
  }
