import type { CompletedSegment, Evicted, Stats, Status, TaskStatus, TaskSummary } from "./wire.js"

// What the page knows, merged from the listing, single-task reads and the event stream, which can arrive in any
// order: a record is replaced only by a newer version of it, and a task once evicted never comes back.

/** A task as held: its latest summary, and its finished segments once a full status has been seen. */
export interface Held {
  readonly task: TaskSummary
  readonly segments: ReadonlyArray<CompletedSegment> | undefined
}

/** How many evictions the page remembers to show; the count covers them all. */
export const EVICTIONS_SHOWN = 10

/**
 * How many evicted ids the page remembers, so that a listing or read sent before an eviction and answered after it
 * does not bring the task back. Those arrive within moments; the oldest ids are let go, so that a page left open
 * for days does not grow with every eviction.
 */
export const GONE_REMEMBERED = 10_000

export class Board {
  private readonly tasks = new Map<string, Held>()
  private readonly gone = new Set<string>()
  private recent: ReadonlyArray<Evicted> = []
  evictedCount = 0
  stats: Stats | undefined = undefined

  /** Takes a full status (an event, a read, a submit or cancel answer); answers whether anything changed. */
  applyStatus(status: TaskStatus): boolean {
    if (this.gone.has(status.task_id)) return false
    const held = this.tasks.get(status.task_id)
    const newer = held === undefined || status.version > held.task.version
    const fills = held !== undefined && status.version === held.task.version && held.segments === undefined
    if (!newer && !fills) return false
    const { completed_segments, ...task } = status
    this.tasks.set(status.task_id, { task, segments: completed_segments })
    return true
  }

  /** Takes a listed task; its finished segments, if held, are kept until a full status replaces them. */
  applySummary(task: TaskSummary): boolean {
    if (this.gone.has(task.task_id)) return false
    const held = this.tasks.get(task.task_id)
    if (held !== undefined && held.task.version >= task.version) return false
    this.tasks.set(task.task_id, { task, segments: held?.segments })
    return true
  }

  /** Drops an evicted task for good, and remembers the eviction. */
  applyEvicted(evicted: Evicted): void {
    this.forget(evicted.task_id)
    this.evictedCount++
    this.recent = [evicted, ...this.recent].slice(0, EVICTIONS_SHOWN)
  }

  /** Drops a task the server no longer has (a read answered 404 or 410). */
  forget(taskId: string): void {
    this.gone.add(taskId)
    this.tasks.delete(taskId)
    // A Set iterates in insertion order: the first is the oldest.
    for (const oldest of this.gone) {
      if (this.gone.size <= GONE_REMEMBERED) break
      this.gone.delete(oldest)
    }
  }

  get(taskId: string): Held | undefined {
    return this.tasks.get(taskId)
  }

  /** The most recent evictions, newest first. */
  evictions(): ReadonlyArray<Evicted> {
    return this.recent
  }

  /** Tasks in `status` (all when undefined), newest first. */
  visible(status: Status | undefined): ReadonlyArray<Held> {
    return [...this.tasks.values()]
      .filter((held) => status === undefined || held.task.status === status)
      .sort((a, b) => compareNewestFirst(a.task, b.task))
  }

  /**
   * Tasks held but missing from a listing of at most `limit` (newest first): evicted while the stream was down, or
   * submitted since the listing was made, or (when the listing is full) older than its oldest. The first two are
   * worth one read each to tell apart; the last are out of the listing's reach, not gone.
   */
  unlisted(listed: ReadonlyArray<TaskSummary>, limit: number): ReadonlyArray<string> {
    const ids = new Set(listed.map((task) => task.task_id))
    const oldest = listed.length < limit ? undefined : listed[listed.length - 1]
    return [...this.tasks.values()]
      .filter((held) => !ids.has(held.task.task_id))
      .filter((held) => oldest === undefined || compareNewestFirst(held.task, oldest) < 0)
      .map((held) => held.task.task_id)
  }

  /** Tasks that have finished segments the page has not seen (listed, never read in full). */
  missingSegments(): ReadonlyArray<string> {
    return [...this.tasks.values()]
      .filter((held) => held.segments === undefined && held.task.progress.current > held.task.errors.length)
      .map((held) => held.task.task_id)
  }
}

const compareNewestFirst = (a: TaskSummary, b: TaskSummary) =>
  a.created_at === b.created_at ? b.task_id.localeCompare(a.task_id) : b.created_at.localeCompare(a.created_at)

/** Whether a task can still be cancelled. */
export const isActive = (task: TaskSummary) => task.status === "PENDING" || task.status === "PROCESSING"
