import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { Effect, Schema } from "effect"
import { HealthJson } from "../../src/http/api/Wire.js"
import { tempAudioDir } from "../support/http.js"
import type { Server, TaskStatus } from "../support/processes.js"
import { awaitStatus, sleep, startServer, stopAll, TERMINAL } from "../support/processes.js"
import { redisUrl, removeKeys, requireRedis, testPrefix } from "../support/redis.js"

// Two built server processes on one Redis and one AUDIO_DIR, each running one task at a time, with tasks submitted
// to both in turn: the directory keeps within AUDIO_MAX_BYTES plus one segment per writer, and both processes report
// the one figure in /api/health, the bytes on disk. Kept light (short sentences, one worker each) for a busy machine.

// eSpeak's one-sentence segments here are about 120 kB each: the budget holds six or seven of them.
const MAX = 800_000
const WRITERS = 2 // one worker in each of the two processes
const TASKS = 8
const SEGMENTS = 3
const prefix = testPrefix()
const audioDir = tempAudioDir()
const shared = {
  TASK_STORE: "redis",
  REDIS_URL: redisUrl,
  TASK_REDIS_PREFIX: prefix,
  AUDIO_DIR: audioDir,
  AUDIO_MAX_BYTES: String(MAX),
  TASK_CONCURRENCY: "1",
  TASK_MAX_PENDING: "1000",
  TASK_MAX_PENDING_WORK: "1000000",
  HTTP_SHUTDOWN_GRACE: "1"
}

let a: Server
let b: Server
const decodeHealth = Schema.decodeUnknownSync(HealthJson)

/** Every byte under `root` and the largest WAV file, read from the disk. */
const measure = (root: string): { bytes: number; largest: number } => {
  let bytes = 0
  let largest = 0
  if (!existsSync(root)) return { bytes, largest }
  for (const task of readdirSync(root, { withFileTypes: true })) {
    if (!task.isDirectory()) continue
    let names: Array<string> = []
    try {
      names = readdirSync(join(root, task.name))
    } catch {
      continue // Removed meanwhile.
    }
    for (const name of names) {
      try {
        const size = statSync(join(root, task.name, name)).size
        bytes += size
        if (name.endsWith(".wav")) largest = Math.max(largest, size)
      } catch {
        // Removed meanwhile.
      }
    }
  }
  return { bytes, largest }
}

beforeAll(async () => {
  await Effect.runPromise(requireRedis())
  ;[a, b] = await Promise.all([startServer("A", shared), startServer("B", shared)])
}, 150_000)

// A failed case prints what the processes said.
afterEach((context) => {
  if (context.task.result?.state === "fail") console.log([a, b].map((s) => `--- ${s?.name}\n${s?.log()}`).join("\n"))
})

afterAll(async () => {
  stopAll()
  await Effect.runPromise(removeKeys(prefix))
})

describe("two processes sharing AUDIO_DIR and Redis", () => {
  it("keep the directory within AUDIO_MAX_BYTES plus one segment per writer, and report one figure", async () => {
    const batch = (t: number) =>
      Array.from({ length: SEGMENTS }, (_, i) => ({ segment_id: `s${i}`, text: `Task ${t}, part ${i}: the fox ran.` }))
    let peak = 0
    let largest = 0
    let sampling = true
    // Samples the directory every 15 ms until the tasks are done; bounded by the waits below.
    const sampler = (async () => {
      while (sampling) {
        const m = measure(audioDir)
        peak = Math.max(peak, m.bytes)
        largest = Math.max(largest, m.largest)
        await sleep(15)
      }
    })()
    const servers = (i: number) => (i % 2 === 0 ? a : b)
    const done: Array<TaskStatus> = []
    try {
      const submitted: Array<TaskStatus> = []
      for (let t = 0; t < TASKS; t++) submitted.push(await servers(t).submit(batch(t)))
      for (const [t, task] of submitted.entries()) {
        done.push(await awaitStatus(servers(t), task.task_id, (s) => TERMINAL.includes(s.status), 120, 100))
      }
    } finally {
      sampling = false
      await sampler
    }
    const end = measure(audioDir)
    largest = Math.max(largest, end.largest)
    const bound = MAX + WRITERS * largest
    const health = await Promise.all([a, b].map(async (s) => decodeHealth(await (await s.fetch("/api/health")).json())))
    const statuses = done.map((t) => t.status).join(",")
    console.log(
      `audio shared by 2 processes: peak ${peak} bytes, bound ${bound} (AUDIO_MAX_BYTES ${MAX} + ${WRITERS} x ` +
        `largest segment ${largest}); at the end ${end.bytes} on disk, health A ${JSON.stringify(health[0].audio)} ` +
        `B ${JSON.stringify(health[1].audio)}; tasks ${statuses}`
    )
    expect(largest).toBeGreaterThan(0)
    // Enough was written that the budget had to remove finished tasks' audio.
    expect(TASKS * SEGMENTS * largest).toBeGreaterThan(2 * MAX)
    expect(peak).toBeLessThanOrEqual(bound)
    // The ledger admits a segment past the budget while what is held is within it (reserve.lua): the same bound.
    expect(end.bytes).toBeLessThanOrEqual(bound)
    expect(health[0].audio).toEqual(health[1].audio)
    expect(health[0].audio.bytes).toBe(end.bytes)
    // The running tasks' audio alone (two tasks of SEGMENTS segments) fits in the budget: no task fails for it.
    expect(WRITERS * SEGMENTS * largest).toBeLessThanOrEqual(MAX)
    expect(
      done.filter((t) => t.status !== "COMPLETED" || t.errors.length > 0).map((t) => [t.task_id, t.error, t.errors])
    ).toEqual([])
  }, 200_000)
})
