import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc, HashSet } from "effect"
import * as ClaimLedger from "../../src/domain/ClaimLedger.js"
import { TaskId } from "../../src/domain/TaskId.js"

const id = TaskId.make("00000000-0000-4000-8000-000000000001")

describe("ClaimLedger", () => {
  it.prop(
    "remembers every report number applied, in any order, and compacts them once there is no gap",
    [fc.integer({ min: 1, max: 40 }).chain((k) => fc.shuffledSubarray([...Array(k).keys()].map((i) => i + 1)))],
    ([numbers]) => {
      let ledger = ClaimLedger.make(id)
      const applied = new Set<number>()
      for (const n of numbers) {
        expect(ClaimLedger.hasApplied(n)(ledger)).toBe(false)
        ledger = ClaimLedger.markApplied(n)(ledger)
        applied.add(n)
        for (let m = 1; m <= 41; m++) expect(ClaimLedger.hasApplied(m)(ledger)).toBe(applied.has(m))
        // Marking again changes nothing.
        expect(ClaimLedger.markApplied(n)(ledger)).toBe(ledger)
      }
      let prefix = 0
      while (applied.has(prefix + 1)) prefix++
      expect(ledger.upTo).toBe(prefix)
      expect(HashSet.size(ledger.above)).toBe(applied.size - prefix)
    }
  )
})
