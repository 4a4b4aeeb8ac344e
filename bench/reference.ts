import { randomUUID } from "node:crypto"

// A straightforward port of the reference design: records in a mutable Map, and every submit scans all of them
// for expired ones under a lock. Only the bookkeeping is ported; it runs synchronously, so the "lock" is the
// event loop itself, which makes this port, if anything, cheaper than the original.

interface Record {
  status: "PENDING" | "COMPLETED"
  createdAt: number
  completedAt: number | undefined
}

export class ReferenceRegistry {
  readonly records = new Map<string, Record>()
  constructor(private readonly thresholdMs: number) {}

  /** Submit as the reference did it: sweep everything, then insert. */
  submit(now: number): string {
    for (const [id, record] of this.records) {
      if (record.completedAt !== undefined && now - record.completedAt > this.thresholdMs) this.records.delete(id)
    }
    const id = randomUUID()
    this.records.set(id, { status: "PENDING", createdAt: now, completedAt: undefined })
    return id
  }

  complete(id: string, now: number) {
    const record = this.records.get(id)
    if (record !== undefined) {
      record.status = "COMPLETED"
      record.completedAt = now
    }
  }
}

/**
 * The floor for throughput: the same bookkeeping as the registry (insert, finish, read, keep at most `cap`
 * finished records, oldest first) on a plain Map, with no Effect, no immutability and no fibers.
 */
export class FloorRegistry {
  readonly records = new Map<string, Record>()
  constructor(private readonly cap: number) {}

  submitAndGet(now: number): Record | undefined {
    const id = randomUUID()
    this.records.set(id, { status: "PENDING", createdAt: now, completedAt: undefined })
    const record = this.records.get(id)!
    record.status = "COMPLETED"
    record.completedAt = now
    // A Map iterates in insertion order, so its first keys are the oldest records.
    if (this.records.size > this.cap) this.records.delete(this.records.keys().next().value!)
    return this.records.get(id)
  }
}
