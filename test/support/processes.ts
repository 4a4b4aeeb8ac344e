import { type ChildProcess, spawn } from "node:child_process"
import { once } from "node:events"
import { Schema } from "effect"
import { TaskStatusJson } from "../../src/http/api/Wire.js"
import { freePort } from "./net.js"

// Built server processes (`node dist/main.js`) for end-to-end tests, each on a free port of 127.0.0.1, and a
// client that speaks to them. Every wait is bounded in time; every process is killed by `stopAll`.

const root = new URL("../../", import.meta.url)

export const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

/** Tries `attempt` every `everyMs` until it answers something, for at most `seconds`. */
export const until = async <A>(
  what: string,
  attempt: () => Promise<A | undefined>,
  seconds: number,
  everyMs = 50
): Promise<A> => {
  const deadline = Date.now() + seconds * 1000
  while (Date.now() < deadline) {
    const result = await attempt()
    if (result !== undefined) return result
    await sleep(everyMs)
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`)
}

export type TaskStatus = typeof TaskStatusJson.Type
const decodeStatus = Schema.decodeUnknownSync(TaskStatusJson)

export const TERMINAL: ReadonlyArray<string> = ["COMPLETED", "FAILED", "CANCELLED"]

export interface Server {
  readonly name: string
  readonly base: string
  readonly child: ChildProcess
  readonly log: () => string
  readonly exited: Promise<unknown>
  /** The status of a task as this process answers it (200), or the HTTP status and error body otherwise. */
  readonly status: (
    id: string
  ) => Promise<{ readonly code: number; readonly task?: TaskStatus; readonly body: unknown }>
  /** Submits a batch; retries a 503 (registry full or busy) after its Retry-After, at most `tries` times. */
  readonly submit: (
    segments: ReadonlyArray<{ segment_id: string; text: string }>,
    tries?: number
  ) => Promise<TaskStatus>
  readonly cancel: (id: string) => Promise<{ readonly code: number; readonly body: unknown }>
  readonly fetch: (path: string) => Promise<Response>
}

/**
 * How long a server process may take to say it listens. Start-up waits for what it waits on (the line, or the
 * process ending); this bound only ends a run that would never get there. A quiet machine starts the server in a
 * second or two; one with the rest of the suite and other work beside it has been seen to take over 30 s.
 */
export const START_SECONDS = 120

/**
 * Resolves once `child` has written "Listening on" (its output so far is `output()`), as the output arrives; rejects
 * if it exits first, or after `seconds`, with what it said.
 */
export const listening = (child: ChildProcess, output: () => string, name = "the server", seconds = START_SECONDS) =>
  new Promise<void>((resolve, reject) => {
    const check = () => {
      if (!output().includes("Listening on")) return
      done()
      resolve()
    }
    const exited = () => {
      done()
      reject(new Error(`${name} exited with ${child.exitCode ?? child.signalCode} before listening:\n${output()}`))
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`${name} did not listen within ${seconds} s:\n${output()}`))
    }, seconds * 1000)
    const done = () => {
      clearTimeout(timer)
      child.stdout?.off("data", check)
      child.stderr?.off("data", check)
      child.off("exit", exited)
    }
    // Registered after the caller's own listeners, so that `output()` already holds the chunk.
    child.stdout?.on("data", check)
    child.stderr?.on("data", check)
    child.once("exit", exited)
    check()
    if (child.exitCode !== null || child.signalCode !== null) exited()
  })

const children = new Set<ChildProcess>()

/** Starts `node dist/main.js` with `env` over the test's environment, and waits until it listens. */
export const startServer = async (
  name: string,
  env: Record<string, string>,
  seconds = START_SECONDS
): Promise<Server> => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const child = spawn(process.execPath, ["dist/main.js"], {
    cwd: root,
    env: { ...process.env, LOG_FORMAT: "pretty", ...env, HOST: "127.0.0.1", PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"]
  })
  children.add(child)
  let output = ""
  child.stdout?.on("data", (chunk) => (output += chunk))
  child.stderr?.on("data", (chunk) => (output += chunk))
  const exited = once(child, "exit")
  const request = (path: string, init?: RequestInit) =>
    fetch(base + path, { ...init, signal: AbortSignal.timeout(10_000) })
  const server: Server = {
    name,
    base,
    child,
    log: () => output,
    exited,
    fetch: (path) => request(path),
    status: async (id) => {
      const response = await request(`/api/tasks/${id}`)
      const body = await response.json()
      return response.status === 200 ? { code: 200, task: decodeStatus(body), body } : { code: response.status, body }
    },
    submit: async (segments, tries = 50) => {
      for (let i = 0; i < tries; i++) {
        const response = await request("/api/tasks", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ segments })
        })
        if (response.status === 202) return decodeStatus(await response.json())
        if (response.status !== 503)
          throw new Error(`${name}: submit answered ${response.status}: ${await response.text()}`)
        await sleep(Number(response.headers.get("retry-after") ?? "1") * 1000)
      }
      throw new Error(`${name}: submit still answered 503 after ${tries} tries`)
    },
    cancel: async (id) => {
      const response = await request(`/api/tasks/${id}`, { method: "DELETE" })
      return { code: response.status, body: await response.json() }
    }
  }
  await listening(child, () => output, name, seconds)
  return server
}

/** Waits until `server` answers the task with a status `accept` takes. */
export const awaitStatus = (
  server: Server,
  id: string,
  accept: (task: TaskStatus) => boolean,
  seconds: number,
  everyMs = 50
) =>
  until(
    `task ${id} on ${server.name}`,
    async () => {
      const { task } = await server.status(id)
      return task !== undefined && accept(task) ? task : undefined
    },
    seconds,
    everyMs
  )

/** Kills every process started here that is still running (`SIGCONT` first, so that a stopped one dies too). */
export const stopAll = () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGCONT")
      child.kill("SIGKILL")
    }
  }
  children.clear()
}
