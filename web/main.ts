import { cancelTask, health, listTasks, readTask, submitTask, voices } from "./api.js"
import type { Submission } from "./api.js"
import { Board } from "./board.js"
import { byId, el } from "./dom.js"
import { toSegments } from "./story.js"
import { BoardView } from "./view.js"
import { isEvicted, isStats, isStatus, isTaskStatus, parseJson } from "./wire.js"

// The page's wiring. It is live from the event stream alone: GET /api/events pushes every change and eviction, and
// the listing is read only when the stream (re)opens, to catch up on what happened while it was not connected.

const LIST_LIMIT = 200
const REOPEN_AFTER_MS = 5000

const board = new Board()
const filter = byId("filter", HTMLSelectElement)
const view = new BoardView(board, () => (isStatus(filter.value) ? filter.value : undefined))
const connection = byId("connection", HTMLElement)
const message = byId("message", HTMLElement)

const say = (text: string, kind: "info" | "error" = "info") => {
  message.textContent = text
  message.dataset["kind"] = kind
}

/** Reads a task the listing cannot account for, or whose segments the page has not seen. */
const check = async (id: string) => {
  const read = await readTask(id)
  if (read.ok) board.applyStatus(read.value)
  else if (read.status === 404 || read.status === 410) board.forget(id)
  view.schedule()
}

/**
 * Reads the listing, then each task the listing leaves unexplained: one held but not listed (evicted while the
 * stream was down, or new since), and one listed without its finished segments. Run when a stream opens afresh
 * (not when the browser resumes one after its last event id) and when the server says events were missed.
 */
const catchUp = async () => {
  const listed = await listTasks(LIST_LIMIT)
  if (!listed.ok) return say(listed.message, "error")
  const unlisted = board.unlisted(listed.value.tasks, LIST_LIMIT)
  for (const task of listed.value.tasks) board.applySummary(task)
  view.schedule()
  for (const id of [...unlisted, ...board.missingSegments()]) await check(id)
}

/** Whether the listing has been read while the stream was not open, so that a stream that is down is not polled. */
let listedWithoutStream = false

const connect = () => {
  const events = new EventSource("/api/events")
  let opened = false
  // The id of the last event this stream had: the browser sends it as Last-Event-ID when it reconnects, and the
  // server then sends what came after it, so the listing need not be read again (`missed` says when it must).
  let lastId = ""
  connection.textContent = "connecting"
  events.addEventListener("open", () => {
    opened = true
    connection.textContent = "live"
    connection.dataset["state"] = "live"
    if (lastId === "") void catchUp()
  })
  events.addEventListener("missed", () => void catchUp())
  events.addEventListener("error", () => {
    connection.dataset["state"] = "down"
    if (events.readyState === EventSource.CLOSED) {
      // The browser gives up on a stream that answered an error; try again later, and show what is on record.
      connection.textContent = "disconnected"
      if (!opened && !listedWithoutStream) {
        listedWithoutStream = true
        void catchUp()
      }
      setTimeout(connect, REOPEN_AFTER_MS)
    } else {
      connection.textContent = "reconnecting"
    }
  })
  events.addEventListener("status", (event) => {
    lastId = event.lastEventId
    const status = parseJson(event.data)
    if (isTaskStatus(status) && board.applyStatus(status)) view.schedule()
  })
  events.addEventListener("evicted", (event) => {
    lastId = event.lastEventId
    const evicted = parseJson(event.data)
    if (!isEvicted(evicted)) return
    board.applyEvicted(evicted)
    view.schedule()
  })
  events.addEventListener("stats", (event) => {
    const stats = parseJson(event.data)
    if (!isStats(stats)) return
    board.stats = stats
    view.schedule()
  })
}

const form = byId("submit", HTMLFormElement)
const story = byId("story", HTMLTextAreaElement)
const voice = byId("voice", HTMLSelectElement)
const speed = byId("speed", HTMLInputElement)

form.addEventListener("submit", (event) => {
  event.preventDefault()
  const segments = toSegments(story.value)
  if (segments.length === 0) return say("Write a story first: paragraphs separated by blank lines.", "error")
  const submission: Submission = {
    segments,
    ...(voice.value === "" ? {} : { voice: voice.value }),
    ...(Number.isFinite(speed.valueAsNumber) ? { speed: speed.valueAsNumber } : {})
  }
  void submitTask(submission).then((reply) => {
    if (!reply.ok) return say(reply.message, "error")
    board.applyStatus(reply.value)
    view.schedule()
    story.value = ""
    say(`Submitted ${reply.value.task_id} (${segments.length} segment${segments.length === 1 ? "" : "s"}).`)
  })
})

byId("tasks", HTMLOListElement).addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("button.cancel") : null
  if (!(button instanceof HTMLButtonElement)) return
  const id = button.dataset["taskId"]
  if (id === undefined) return
  button.disabled = true
  void cancelTask(id).then((reply) => {
    button.disabled = false
    if (!reply.ok) return say(reply.message, "error")
    board.applyStatus(reply.value)
    view.schedule()
    say(`Cancelled ${id}.`)
  })
})

filter.addEventListener("change", () => view.draw())

connect()
view.draw()

// Counts until the stream's first `stats` event, and the engine's voices for the form: read once each.
void health().then((reply) => {
  if (reply.ok && board.stats === undefined) {
    board.stats = reply.value.tasks
    view.schedule()
  }
})
void voices().then((reply) => {
  if (!reply.ok) return
  voice.replaceChildren(
    el("option", { value: "" }, `default (${reply.value.default})`),
    ...reply.value.voices.map((name) => el("option", { value: name }, name))
  )
})
