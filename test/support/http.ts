import { HttpClient, HttpClientRequest } from "@effect/platform"
import type { Layer } from "effect"
import { Effect, Layer as L } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as TestSynthesizer from "../../src/layers/speech/TestSynthesizer.js"
import { servicesWith } from "../../src/App.js"
import { HttpAppLive } from "../../src/http/HttpApp.js"
import * as NodeServer from "../../src/http/transport/NodeServer.js"
import type { Synthesizer } from "../../src/services/Synthesizer.js"
import { withEnv } from "./registry.js"

/** A fresh audio directory for one test. */
export const tempAudioDir = () => mkdtempSync(join(tmpdir(), "storyflow-audio-"))

/**
 * The real HTTP app on a real socket (a free port on 127.0.0.1, on the same kind of node server as in production,
 * so that polls take the same path), with the test synthesizer unless one is given,
 * configured from `env`. Provides an `HttpClient` whose requests go to that server.
 */
export const serverLayer = (
  env: Record<string, string> = {},
  synthesizer: Layer.Layer<Synthesizer> = TestSynthesizer.layer()
) =>
  withEnv(HttpAppLive.pipe(L.provide(servicesWith(synthesizer))), {
    AUDIO_DIR: tempAudioDir(),
    TASK_CLEANUP_INTERVAL: "0",
    ...env
  }).pipe(L.provideMerge(NodeServer.layerTest))

export interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  // Parsed JSON, read field by field in assertions; a test that reads a missing field fails on its value.
  readonly body: any
}

/** Sends a request and answers its status, headers and body: parsed when it is JSON, else the text. */
export const send = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(request)
    const text = yield* response.text
    const reply: Reply = {
      status: response.status,
      headers: response.headers,
      body: response.headers["content-type"]?.includes("application/json") ? JSON.parse(text) : text
    }
    return reply
  })

export const get = (url: string) => send(HttpClientRequest.get(url))

/** GETs `url` and answers its status, headers and raw bytes. */
export const getBytes = (url: string) =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(HttpClientRequest.get(url))
    const bytes = new Uint8Array(yield* response.arrayBuffer)
    return { status: response.status, headers: response.headers, bytes }
  })
export const del = (url: string) => send(HttpClientRequest.del(url))
export const post = (url: string, body: string) =>
  send(HttpClientRequest.post(url).pipe(HttpClientRequest.bodyText(body, "application/json")))
export const postJson = (url: string, body: unknown) => post(url, JSON.stringify(body))

/** A valid batch of `n` segments. */
export const batch = (n: number, text = "Once upon a time.") => ({
  segments: Array.from({ length: n }, (_, i) => ({ segment_id: `s${i + 1}`, text }))
})

/** Polls the task until its status is `status`, letting background fibers run between polls. */
export const pollUntil = (taskId: string, status: string) =>
  Effect.gen(function* () {
    for (let i = 0; i < 200; i++) {
      const reply = yield* get(`/api/tasks/${taskId}`)
      if (reply.body?.status === status) return reply
      yield* Effect.yieldNow()
    }
    return yield* Effect.dieMessage(`task ${taskId} never reached ${status}`)
  })
