import { HttpServerResponse } from "@effect/platform"
import { Context, Layer, Schema } from "effect"
import type { Task } from "../domain/Task.js"
import { TaskStatusJson, toTaskStatusJson } from "./Wire.js"

const encode = Schema.encodeSync(TaskStatusJson)
const utf8 = new TextEncoder()

/**
 * A task's status as response bytes, encoded once per change rather than once per poll. Task records are
 * immutable and replaced on every change, so the record itself is the cache key; a `WeakMap` lets an entry go
 * with its record, so the cache never holds more than the registry does.
 */
export const makeStatusBodies = () => {
  const cache = new WeakMap<Task, Uint8Array>()
  const bytesOf = (task: Task): Uint8Array => {
    let bytes = cache.get(task)
    if (bytes === undefined) {
      bytes = utf8.encode(JSON.stringify(encode(toTaskStatusJson(task))))
      cache.set(task, bytes)
    }
    return bytes
  }
  return (task: Task, status = 200) =>
    HttpServerResponse.uint8Array(bytesOf(task), { status, contentType: "application/json" })
}

/** The server's one cache of status bodies, shared by the handlers and the status fast path (./Polling.ts). */
export class StatusBodies extends Context.Tag("storyflow/http/StatusBodies")<
  StatusBodies,
  ReturnType<typeof makeStatusBodies>
>() {
  static readonly layer = Layer.sync(StatusBodies, makeStatusBodies)
}
