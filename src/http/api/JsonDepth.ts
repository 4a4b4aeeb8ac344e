/** How deeply a request body may nest arrays and objects; a submit body nests 3 deep. */
export const MAX_JSON_DEPTH = 32

/**
 * Whether `value` nests arrays and objects more than `max` deep. A loop, not a recursion: its purpose is to refuse
 * values too deep for the recursive code that would walk them next (decoding, and formatting a decode error, which
 * overflowed the stack on arrays nested 5,000 deep).
 */
export const nestedDeeperThan =
  (max: number) =>
  (value: unknown): boolean => {
    const pending: Array<{ readonly value: unknown; readonly depth: number }> = [{ value, depth: 0 }]
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      if (typeof next.value !== "object" || next.value === null) continue
      if (next.depth === max) return true
      for (const child of Object.values(next.value)) pending.push({ value: child, depth: next.depth + 1 })
    }
    return false
  }
