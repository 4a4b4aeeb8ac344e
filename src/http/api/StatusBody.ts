import { HttpServerResponse } from "@effect/platform"
import { Context, Layer, Schema } from "effect"
import type { Task } from "../../domain/Task.js"
import { TaskStatusJson, toTaskStatusJson } from "./Wire.js"

const encode = Schema.encodeSync(TaskStatusJson)
const utf8 = new TextEncoder()

/**
 * A task's status as a response, encoded once per change rather than once per poll. Task records are immutable
 * and replaced on every change, so the record itself is the cache key; a `WeakMap` lets an entry go with its
 * record, so the cache never holds more than the registry does. The 200 response itself is kept, not only its
 * bytes: responses are immutable values too, and a poll answers 200.
 */
export const makeStatusBodies = () => {
  const cache = new WeakMap<Task, HttpServerResponse.HttpServerResponse>()
  const okOf = (task: Task): HttpServerResponse.HttpServerResponse => {
    let ok = cache.get(task)
    if (ok === undefined) {
      const bytes = utf8.encode(JSON.stringify(encode(toTaskStatusJson(task))))
      ok = HttpServerResponse.uint8Array(bytes, { contentType: "application/json" })
      cache.set(task, ok)
    }
    return ok
  }
  return (task: Task, status = 200): HttpServerResponse.HttpServerResponse =>
    status === 200 ? okOf(task) : HttpServerResponse.setStatus(okOf(task), status)
}

/** The server's one cache of status bodies, shared by the handlers and the status fast path (../transport/Polling.ts). */
export class StatusBodies extends Context.Tag("storyflow/http/StatusBodies")<
  StatusBodies,
  ReturnType<typeof makeStatusBodies>
>() {
  static readonly layer = Layer.sync(StatusBodies, makeStatusBodies)
}
