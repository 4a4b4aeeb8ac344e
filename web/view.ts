import type { Board } from "./board.js"
import { TaskCard } from "./card.js"
import { byId, el, fill, timeOf } from "./dom.js"
import type { Status } from "./wire.js"

/** Draws the board on the page: the task list under the status filter, the registry's counts, the evictions. */
export class BoardView {
  private readonly cards = new Map<string, TaskCard>()
  private readonly list = byId("tasks", HTMLOListElement)
  private readonly empty = byId("empty", HTMLParagraphElement)
  private readonly counts = byId("counts", HTMLDListElement)
  private readonly evictedCount = byId("evicted-count", HTMLElement)
  private readonly evictions = byId("evictions", HTMLOListElement)
  private pending = false

  constructor(
    private readonly board: Board,
    private readonly filter: () => Status | undefined
  ) {}

  /** Draws at the next frame, once however many changes arrive before it. */
  schedule(): void {
    if (this.pending) return
    this.pending = true
    requestAnimationFrame(() => {
      this.pending = false
      this.draw()
    })
  }

  draw(): void {
    const visible = this.board.visible(this.filter())
    for (const [id, card] of this.cards) {
      if (this.board.get(id) === undefined) {
        card.root.remove()
        this.cards.delete(id)
      }
    }
    visible.forEach((held, i) => {
      const card = this.cards.get(held.task.task_id) ?? new TaskCard(held.task.task_id)
      this.cards.set(held.task.task_id, card)
      card.update(held)
      // Moved only when out of place, so that players keep playing.
      const at = this.list.children.item(i)
      if (at !== card.root) this.list.insertBefore(card.root, at)
    })
    while (this.list.children.length > visible.length) this.list.lastElementChild?.remove()
    this.empty.hidden = visible.length > 0
    this.drawCounts()
  }

  private drawCounts() {
    const stats = this.board.stats
    const entries: ReadonlyArray<readonly [string, number | undefined]> = [
      ["pending", stats?.pending],
      ["processing", stats?.processing],
      ["finished", stats?.finished],
      ["tombstones", stats?.tombstones]
    ]
    fill(
      this.counts,
      ...entries.flatMap(([name, value]) => [
        el("dt", {}, name),
        el("dd", { "data-count": name }, String(value ?? "–"))
      ])
    )
    this.evictedCount.textContent = String(this.board.evictedCount)
    fill(
      this.evictions,
      ...this.board
        .evictions()
        .map((e) =>
          el(
            "li",
            { "data-task-id": e.task_id },
            el("code", {}, e.task_id.slice(0, 8)),
            ` ${e.status}, by ${e.cause}, at ${timeOf(e.evicted_at)}`
          )
        )
    )
  }
}
