import { afterAll, afterEach, beforeAll, describe, expect, it } from "@effect/vitest"
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { Duration, Effect } from "effect"
import { decodeWav, durationSeconds } from "../../src/domain/Wav.js"
import { tempAudioDir } from "../support/http.js"
import type { Server } from "../support/processes.js"
import { awaitStatus, sleep, startServer, stopAll, TERMINAL } from "../support/processes.js"
import { createClient } from "@redis/client"
import * as RegistryConfig from "../../src/services/RegistryConfig.js"
import { redisUrl, removeKeys, requireRedis, testPrefix } from "../support/redis.js"

// Several built server processes on one Redis, with one shared AUDIO_DIR (and so one task-id key), the real speech
// engine, and short leases so that a lost worker's task is taken back in about two seconds.
//
// Which process runs a task is decided by stopping the other runners (SIGSTOP) until the chosen one has claimed it:
// starting a process takes seconds on this machine, pausing one takes nothing.

const LEASE = 1.5
const prefix = testPrefix()
const audioDir = tempAudioDir()
const shared = {
  TASK_STORE: "redis",
  REDIS_URL: redisUrl,
  TASK_REDIS_PREFIX: prefix,
  AUDIO_DIR: audioDir,
  TASK_LEASE: String(LEASE),
  TASK_MAX_PENDING: "1000",
  TASK_MAX_PENDING_WORK: "1000000",
  HTTP_SHUTDOWN_GRACE: "1"
}

let a: Server // runs tasks
let b: Server // serves the API only
let killed: Server // runs tasks until SIGKILL
let terminated: Server // runs tasks until SIGTERM; its lease is long, so only a hand-back can free its task in time
let evicting: Server // serves the API only, started with a threshold of one second that the registry's policy overrules

const sentence = (i: number) => ({ segment_id: `s${i}`, text: `Sentence ${i}: the fox ran past the old oak tree.` })
const batch = (n: number) => Array.from({ length: n }, (_, i) => sentence(i))
const wavsOf = (id: string) => (existsSync(join(audioDir, id)) ? readdirSync(join(audioDir, id)).length : 0)
const pause = (...servers: ReadonlyArray<Server>) => servers.forEach((s) => s.child.kill("SIGSTOP"))
const resume = (...servers: ReadonlyArray<Server>) => servers.forEach((s) => s.child.kill("SIGCONT"))
const logs = () => [a, b, killed, terminated, evicting].map((s) => `--- ${s?.name}\n${s?.log()}`).join("\n")

// dist/ is built once for every test file by test/globalSetup.ts.
/** Sets fields of the registry's stored policy, as an operator would with redis-cli. */
const setPolicy = async (fields: Record<string, string>) => {
  const client = await createClient({ url: redisUrl }).connect()
  try {
    await client.hSet(`${prefix}policy`, fields)
  } finally {
    client.destroy()
  }
}

beforeAll(async () => {
  await Effect.runPromise(requireRedis())
  // The registry's policy, as the processes below (but E) would store it: which of them starts first does not matter.
  const { cleanupThreshold, maxRetained, tombstones } = RegistryConfig.defaults
  await setPolicy({
    thresholdMs: String(cleanupThreshold.pipe(Duration.toMillis)),
    maxRetained: String(maxRetained),
    tombstones: String(tombstones),
    maxPending: shared.TASK_MAX_PENDING,
    maxWork: shared.TASK_MAX_PENDING_WORK
  })
  ;[a, b, killed, terminated, evicting] = await Promise.all([
    startServer("A", { ...shared, TASK_CONCURRENCY: "1" }),
    startServer("B", { ...shared, TASK_CONCURRENCY: "0" }),
    startServer("K", { ...shared, TASK_CONCURRENCY: "1" }),
    startServer("T", { ...shared, TASK_CONCURRENCY: "1", TASK_LEASE: "60" }),
    startServer("E", { ...shared, TASK_CONCURRENCY: "0", TASK_CLEANUP_THRESHOLD: "1" })
  ])
  pause(killed, terminated)
}, 150_000)

// A failed case prints what the processes said.
afterEach((context) => {
  if (context.task.result?.state === "fail") console.log(logs())
})

afterAll(async () => {
  stopAll()
  await Effect.runPromise(removeKeys(prefix))
})

describe("several server processes on one Redis", () => {
  it("serves on B the status and the audio of a task submitted on A", async () => {
    const submitted = await a.submit([sentence(1), sentence(2)])
    const done = await awaitStatus(b, submitted.task_id, (t) => t.status === "COMPLETED", 20)
    expect(done.completed_segments).toHaveLength(2)
    for (const segment of done.completed_segments) {
      const response = await b.fetch(segment.audio_url)
      expect(response.status).toBe(200)
      const wav = decodeWav(new Uint8Array(await response.arrayBuffer()))
      expect(wav && durationSeconds(wav)).toBeCloseTo(segment.duration, 9)
    }
  }, 30_000)

  it("cancels on B a task that A is running: CANCELLED at once, and A's handler stops within a second", async () => {
    const { task_id: id } = await b.submit(batch(30))
    await awaitStatus(b, id, (t) => t.status === "PROCESSING" && t.progress.current >= 2, 20, 20)
    const cancelled = await b.cancel(id)
    expect(cancelled).toMatchObject({ code: 200, body: { status: "CANCELLED" } })
    // The progress as cancelled (A may have reported another segment between the poll above and the cancel): a
    // CANCELLED record no longer changes.
    const { task: atCancel } = await a.status(id)
    if (atCancel === undefined) throw new Error(`A does not know task ${id}`)
    expect(atCancel).toMatchObject({ status: "CANCELLED" })
    // The segment under way when the notice came is not written; allow one for the notice's own delay.
    await sleep(1000)
    const files = wavsOf(id)
    expect(files).toBeLessThanOrEqual(atCancel.progress.current + 1)
    await sleep(1500)
    expect(wavsOf(id), "A wrote audio more than a second after the cancel").toBe(files)
    expect((await a.status(id)).task).toMatchObject({ status: "CANCELLED", progress: atCancel.progress })
    expect(a.log()).not.toMatch(/ERROR/)
  }, 30_000)

  it("takes 200 submissions over two processes and loses none: each ends, and both processes answer it", async () => {
    resume(killed, terminated)
    try {
      const tiny = [{ segment_id: "s1", text: "A." }]
      // Four clients, two on each process; half of the tasks are then cancelled from the other process, so that the
      // engine runs a hundred of them (the suite's time is the engine's), and cancels cross processes at scale too.
      const submitted = (
        await Promise.all(
          Array.from({ length: 4 }, async (_, lane) => {
            const [on, other] = lane % 2 === 0 ? [a, b] : [b, a]
            const ids: Array<{ readonly id: string; readonly other: Server }> = []
            for (let i = 0; i < 50; i++) ids.push({ id: (await on.submit(tiny)).task_id, other })
            return ids
          })
        )
      ).flat()
      expect(new Set(submitted.map((s) => s.id)).size).toBe(200)
      for (const [i, { id, other }] of submitted.entries()) {
        if (i % 2 === 1) expect([200, 409]).toContain((await other.cancel(id)).code)
      }
      const ended = new Map<string, number>()
      for (const { id } of submitted) {
        const done = await awaitStatus(a, id, (t) => TERMINAL.includes(t.status), 60, 20)
        expect(["COMPLETED", "CANCELLED"]).toContain(done.status)
        expect((await b.status(id)).task).toEqual(done)
        ended.set(done.status, (ended.get(done.status) ?? 0) + 1)
      }
      console.log(`200 submissions over two processes ended ${JSON.stringify(Object.fromEntries(ended))}`)
      expect(ended.get("COMPLETED")).toBeGreaterThanOrEqual(100)
      const health = await (await b.fetch("/api/health")).json()
      expect(health).toMatchObject({ tasks: { pending: 0, processing: 0 } })
    } finally {
      pause(killed, terminated)
    }
  }, 90_000)

  it("finishes on A a task whose process was killed (SIGKILL) mid-run, within lease + reap interval + run time", async () => {
    pause(a)
    resume(killed)
    const started = Date.now()
    const { task_id: id } = await b.submit(batch(4))
    await awaitStatus(b, id, (t) => t.status === "PROCESSING" && t.progress.current >= 1, 20, 20)
    const runTime = Date.now() - started
    resume(a)
    killed.child.kill("SIGKILL")
    const killedAt = Date.now()
    expect((await b.status(id)).task).toMatchObject({ status: "PROCESSING" })
    const done = await awaitStatus(b, id, (t) => TERMINAL.includes(t.status), 30)
    const after = (Date.now() - killedAt) / 1000
    expect(done).toMatchObject({ status: "COMPLETED", progress: { current: 4, total: 4 } })
    // The whole batch again (a new claim starts from the first segment), after the lease ran out and a reap found it.
    const bound = LEASE + LEASE / 3 + (4 * runTime) / 1000 + 5
    console.log(`a killed worker's task finished elsewhere ${after.toFixed(1)} s later (bound ${bound.toFixed(1)} s)`)
    expect(after).toBeLessThan(bound)
  }, 60_000)

  it("hands back to PENDING the task of a process stopped with SIGTERM, and another process finishes it", async () => {
    pause(a)
    resume(terminated)
    const { task_id: id } = await b.submit(batch(4))
    await awaitStatus(b, id, (t) => t.status === "PROCESSING" && t.progress.current >= 1, 20, 20)
    terminated.child.kill("SIGTERM")
    const exit = await Promise.race([terminated.exited, sleep(15_000).then(() => "no exit within 15 s")])
    expect(exit).toEqual([0, null])
    // No process runs tasks now: handed back, the task waits; a lost lease (60 s) would still say PROCESSING.
    expect((await b.status(id)).task).toMatchObject({ status: "PENDING", progress: { current: 0 } })
    // And says so, in one line an operator can find.
    expect(terminated.log()).toContain("Shutting down: handed 1 running task(s) back to PENDING for another process")
    resume(a)
    const done = await awaitStatus(b, id, (t) => TERMINAL.includes(t.status), 30)
    expect(done).toMatchObject({ status: "COMPLETED", progress: { current: 4, total: 4 } })
  }, 60_000)

  it("applies the registry's one policy on every process: E says its own differs, and a change to it applies at once", async () => {
    expect(evicting.log()).toMatch(/keeps its own policy.*TASK_CLEANUP_THRESHOLD 3600 s \(this process: 1 s\)/)
    const { task_id: first } = await evicting.submit([sentence(1)])
    await awaitStatus(evicting, first, (t) => t.status === "COMPLETED", 20)
    await sleep(1200)
    // E was started with a threshold of one second, but the registry keeps finished records an hour.
    for (const server of [evicting, a, b]) expect((await server.status(first)).code, server.name).toBe(200)

    // The operator lowers the stored threshold: every process applies it from its next script on.
    await setPolicy({ thresholdMs: "1000" })
    const { task_id: id } = await b.submit([sentence(1)])
    const done = await awaitStatus(evicting, id, (t) => t.status === "COMPLETED", 20)
    await sleep(1200)
    // The first read evicts the record; every other process then finds its tombstone.
    for (const server of [evicting, a, b]) {
      expect(await server.status(id), server.name).toMatchObject({
        code: 410,
        body: { error: "TaskExpired", task_id: id, status: "COMPLETED", completed_at: done.completed_at }
      })
    }
  }, 30_000)
})
