import { describe, expect, it } from "@effect/vitest"
import { Board, EVICTIONS_SHOWN, GONE_REMEMBERED } from "../../web/board.js"
import { toSegments } from "../../web/story.js"
import type { Status, TaskStatus } from "../../web/wire.js"

// The dashboard's state, which merges the listing, single reads and events that can arrive in any order.

const task = (id: string, version: number, status: Status = "PROCESSING", segments = 0): TaskStatus => ({
  task_id: id,
  status,
  progress: { current: segments, total: 3, percentage: Math.floor((segments * 100) / 3) },
  completed_segments: Array.from({ length: segments }, (_, i) => ({
    segment_id: `s${i + 1}`,
    audio_url: `/audio/${id}/s${i + 1}.wav`,
    duration: 1
  })),
  errors: [],
  error: null,
  created_at: `2026-11-27T10:00:0${id.length}.000Z`,
  started_at: null,
  completed_at: null,
  version
})

const summary = (status: TaskStatus) => {
  const { completed_segments: _, ...rest } = status
  return rest
}

describe("dashboard: the board", () => {
  it("keeps the newest version of a task, whatever order versions arrive in", () => {
    const board = new Board()
    expect(board.applyStatus(task("a", 3, "PROCESSING", 2))).toBe(true)
    expect(board.applyStatus(task("a", 2, "PROCESSING", 1))).toBe(false)
    expect(board.applySummary(summary(task("a", 1, "PENDING")))).toBe(false)
    expect(board.get("a")?.task.version).toBe(3)
    expect(board.get("a")?.segments).toHaveLength(2)
    expect(board.applyStatus(task("a", 4, "COMPLETED", 3))).toBe(true)
    expect(board.get("a")?.task.status).toBe("COMPLETED")
  })

  it("keeps known segments under a newer summary, and fills them in from a full status of the same version", () => {
    const board = new Board()
    board.applyStatus(task("a", 2, "PROCESSING", 1))
    board.applySummary(summary(task("a", 3, "PROCESSING", 2)))
    expect(board.get("a")?.segments).toHaveLength(1)
    board.applySummary(summary(task("b", 5, "COMPLETED", 3)))
    expect(board.missingSegments()).toEqual(["b"])
    expect(board.applyStatus(task("b", 5, "COMPLETED", 3))).toBe(true)
    expect(board.get("b")?.segments).toHaveLength(3)
    expect(board.missingSegments()).toEqual([])
  })

  it("never brings an evicted task back, and remembers the latest evictions", () => {
    const board = new Board()
    board.applyStatus(task("a", 4, "COMPLETED", 3))
    const evicted = (id: string) => ({
      task_id: id,
      status: "COMPLETED" as const,
      completed_at: "2026-11-27T10:00:00.000Z",
      evicted_at: "2026-11-27T11:00:00.000Z",
      cause: "age" as const
    })
    board.applyEvicted(evicted("a"))
    expect(board.get("a")).toBeUndefined()
    // A listing or event sent before the eviction, arriving after it.
    expect(board.applySummary(summary(task("a", 4, "COMPLETED", 3)))).toBe(false)
    expect(board.applyStatus(task("a", 4, "COMPLETED", 3))).toBe(false)
    for (let i = 0; i < EVICTIONS_SHOWN + 5; i++) board.applyEvicted(evicted(`x${i}`))
    expect(board.evictedCount).toBe(EVICTIONS_SHOWN + 6)
    expect(board.evictions()).toHaveLength(EVICTIONS_SHOWN)
    expect(board.evictions()[0]?.task_id).toBe(`x${EVICTIONS_SHOWN + 4}`)
  })

  it("remembers the latest evicted ids only, however many evictions it sees", () => {
    const board = new Board()
    for (let i = 0; i <= GONE_REMEMBERED; i++) board.forget(`x${i}`)
    // x0 is the oldest and has been let go; x1 is still refused.
    expect(board.applyStatus(task("x0", 1))).toBe(true)
    expect(board.applyStatus(task("x1", 1))).toBe(false)
  })

  it("names held tasks a listing leaves unexplained, except those older than a full listing reaches", () => {
    const board = new Board()
    for (const id of ["a", "bb", "ccc", "dddd"]) board.applyStatus(task(id, 1))
    // Newest first: dddd, ccc, bb, a. A listing with room to spare that lacks ccc and a: both need a read.
    expect(board.unlisted([summary(task("dddd", 1)), summary(task("bb", 1))], 3)).toEqual(["a", "ccc"])
    // A full listing (limit 2) of dddd and bb: a, older than bb, is beyond its reach; ccc is not.
    expect(board.unlisted([summary(task("dddd", 1)), summary(task("bb", 1))], 2)).toEqual(["ccc"])
  })

  it("lists tasks newest first, filtered by status", () => {
    const board = new Board()
    board.applyStatus(task("a", 1, "COMPLETED"))
    board.applyStatus(task("bbb", 1, "PENDING"))
    board.applyStatus(task("cc", 1, "COMPLETED"))
    expect(board.visible(undefined).map((h) => h.task.task_id)).toEqual(["bbb", "cc", "a"])
    expect(board.visible("COMPLETED").map((h) => h.task.task_id)).toEqual(["cc", "a"])
    expect(board.visible("FAILED")).toEqual([])
  })
})

describe("dashboard: a story as segments", () => {
  it("splits at blank lines (also with spaces or CRLF), trims, drops empty paragraphs and numbers s1, s2, …", () => {
    expect(toSegments("Once upon a time.\nA fox.\n\n  The end. \r\n \r\n\n\nMoral.\n")).toEqual([
      { segment_id: "s1", text: "Once upon a time.\nA fox." },
      { segment_id: "s2", text: "The end." },
      { segment_id: "s3", text: "Moral." }
    ])
    expect(toSegments(" \n\n ")).toEqual([])
  })
})
