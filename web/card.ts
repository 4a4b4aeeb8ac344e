import { isActive } from "./board.js"
import type { Held } from "./board.js"
import { el, fill, timeOf } from "./dom.js"
import type { CompletedSegment } from "./wire.js"

/**
 * One task on the page. Updated in place as the task changes, so that an audio player that is playing is never
 * replaced: finished segments are only ever added.
 */
export class TaskCard {
  readonly root: HTMLLIElement
  private readonly status = el("span", { class: "status" })
  private readonly times = el("span", { class: "times" })
  private readonly cancel = el("button", { type: "button", class: "cancel" }, "Cancel")
  private readonly bar = el("progress", { max: "1", value: "0" })
  private readonly counts = el("span", { class: "counts" })
  private readonly strip = el("ol", { class: "strip", "aria-hidden": "true" })
  private readonly players = el("ol", { class: "segments" })
  private readonly failures = el("ul", { class: "failures" })
  private readonly error = el("p", { class: "error" })
  private readonly shown = new Set<string>()
  private drawn: Held | undefined = undefined

  constructor(readonly taskId: string) {
    this.cancel.dataset["taskId"] = taskId
    this.cancel.setAttribute("aria-label", `Cancel task ${taskId}`)
    this.root = el(
      "li",
      { class: "task" },
      el("header", {}, el("code", { class: "id" }, taskId), this.status, this.times, this.cancel),
      el("div", { class: "progress" }, this.bar, this.counts),
      this.strip,
      this.players,
      this.failures,
      this.error
    )
    this.root.dataset["taskId"] = taskId
  }

  /** Shows `held`; the board replaces a task's `Held` whenever it changes, so the same one needs no drawing. */
  update(held: Held): void {
    if (held === this.drawn) return
    this.drawn = held
    const { task, segments } = held
    this.root.dataset["status"] = task.status
    this.status.textContent = task.status
    this.status.className = `status ${task.status.toLowerCase()}`
    this.times.textContent = [
      `submitted ${timeOf(task.created_at)}`,
      ...(task.completed_at === null ? [] : [`finished ${timeOf(task.completed_at)}`])
    ].join(" · ")
    this.cancel.hidden = !isActive(task)
    const { current, total, percentage } = task.progress
    this.bar.max = total
    this.bar.value = current
    this.counts.textContent = `${current} / ${total} segments · ${percentage}%`
    this.drawStrip(
      total,
      (segments ?? []).map((s) => s.segment_id),
      task.errors.map((e) => e.segment_id)
    )
    for (const segment of segments ?? []) this.addPlayer(segment)
    fill(this.failures, ...task.errors.map((e) => el("li", {}, el("code", {}, e.segment_id), ": ", e.message)))
    this.error.textContent = task.error ?? ""
    this.error.hidden = task.error === null
  }

  /** One cell per segment: finished, failed, or still to come. */
  private drawStrip(total: number, done: ReadonlyArray<string>, failed: ReadonlyArray<string>) {
    const waiting = Math.max(0, total - done.length - failed.length)
    fill(
      this.strip,
      ...done.map((id) => el("li", { class: "done", title: `${id}: finished` })),
      ...failed.map((id) => el("li", { class: "failed", title: `${id}: failed` })),
      ...Array.from({ length: waiting }, () => el("li", { class: "waiting" }))
    )
  }

  private addPlayer(segment: CompletedSegment) {
    if (this.shown.has(segment.segment_id)) return
    this.shown.add(segment.segment_id)
    // Only the server's own audio paths; the page's CSP (media-src 'self') refuses any other origin anyway.
    const audio = el("audio", { controls: "", preload: "metadata" })
    if (segment.audio_url.startsWith("/audio/")) audio.src = segment.audio_url
    this.players.append(
      el(
        "li",
        { "data-segment-id": segment.segment_id },
        el("code", {}, segment.segment_id),
        audio,
        el("span", { class: "duration" }, `${segment.duration.toFixed(1)} s`)
      )
    )
  }
}
