import type { SegmentInput } from "./story.js"
import { errorMessage, isHealth, isTaskList, isTaskStatus, isVoices, parseJson } from "./wire.js"

// The API calls the page makes, each answering the checked body or the message a person can act on.

export type Reply<A> =
  { readonly ok: true; readonly value: A } | { readonly ok: false; readonly status: number; readonly message: string }

const call = async <A>(path: string, init: RequestInit, check: (u: unknown) => u is A): Promise<Reply<A>> => {
  try {
    const response = await fetch(path, init)
    const body = parseJson(await response.text())
    if (response.ok && check(body)) return { ok: true, value: body }
    const message = errorMessage(body) ?? `${init.method ?? "GET"} ${path} answered ${response.status}`
    return { ok: false, status: response.status, message }
  } catch (cause) {
    return { ok: false, status: 0, message: `The server cannot be reached (${String(cause)})` }
  }
}

const task = (id: string) => `/api/tasks/${encodeURIComponent(id)}`

export const listTasks = (limit: number) => call(`/api/tasks?limit=${limit}`, {}, isTaskList)

export const readTask = (id: string) => call(task(id), {}, isTaskStatus)

export const cancelTask = (id: string) => call(task(id), { method: "DELETE" }, isTaskStatus)

export interface Submission {
  readonly segments: ReadonlyArray<SegmentInput>
  readonly voice?: string
  readonly speed?: number
}

export const submitTask = (submission: Submission) =>
  call(
    "/api/tasks",
    { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(submission) },
    isTaskStatus
  )

export const health = () => call("/api/health", {}, isHealth)

export const voices = () => call("/api/voices", {}, isVoices)
