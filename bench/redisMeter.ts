import { createClient } from "@redis/client"

// What Redis itself says a stretch of work cost it, from `INFO` before and after: CPU, commands, script calls, bytes
// in and out. Kept apart from redisSupport.ts, which builds the store from its internal modules: this file and the
// lifecycle benchmark use nothing but Redis and the public entries, so that a rewrite of the store does not break them.

/** The Redis the benchmarks use (`BENCH_REDIS_URL`, else the local one). */
export const redisUrl = process.env["BENCH_REDIS_URL"] ?? "redis://127.0.0.1:6379"

/** Commands that run a script: each is one call here, and the commands the script makes count in `calls` too. */
const SCRIPT_COMMANDS = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"])

/** Redis's counters at one moment. */
export interface Counters {
  /** Seconds of CPU, user + system, of the whole server. */
  readonly cpu: number
  /** Commands executed, from every client, including those run inside scripts; `INFO` itself left out. */
  readonly calls: number
  /** Script calls (EVAL, EVALSHA, FCALL and their read-only forms). */
  readonly scripts: number
  readonly bytesIn: number
  readonly bytesOut: number
  /** When it was read, in milliseconds (`performance.now()`). */
  readonly at: number
}

const parse = (text: string, at: number): Counters => {
  const fields = new Map<string, string>()
  for (const line of text.split("\r\n")) {
    const colon = line.indexOf(":")
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1))
  }
  let calls = 0
  let scripts = 0
  for (const [key, value] of fields) {
    if (!key.startsWith("cmdstat_")) continue
    const command = key.slice("cmdstat_".length)
    if (command === "info") continue
    const count = Number(/(?:^|,)calls=(\d+)/.exec(value)?.[1] ?? 0)
    calls += count
    if (SCRIPT_COMMANDS.has(command)) scripts += count
  }
  const number = (name: string) => {
    const value = Number(fields.get(name))
    if (!Number.isFinite(value)) throw new Error(`INFO has no ${name}`)
    return value
  }
  return {
    cpu: number("used_cpu_sys") + number("used_cpu_user"),
    calls,
    scripts,
    bytesIn: number("total_net_input_bytes"),
    bytesOut: number("total_net_output_bytes"),
    at
  }
}

const subtract = (after: Counters, before: Counters): Counters => ({
  cpu: after.cpu - before.cpu,
  calls: after.calls - before.calls,
  scripts: after.scripts - before.scripts,
  bytesIn: after.bytesIn - before.bytesIn,
  bytesOut: after.bytesOut - before.bytesOut,
  at: after.at - before.at
})

const openClient = () => createClient({ url: redisUrl })

/**
 * One connection that reads Redis's counters. A delta between two reads includes one read's own traffic (the second
 * request in, the first reply out); `open` measures that on two reads in a row and `delta` takes it off.
 */
export class RedisMeter {
  private constructor(
    private readonly client: ReturnType<typeof openClient>,
    private readonly own: Counters
  ) {}

  static async open(): Promise<RedisMeter> {
    const client = openClient().on("error", () => {})
    await client.connect()
    const read = async () => parse(String(await client.sendCommand(["INFO", "cpu", "stats", "commandstats"])), 0)
    await read()
    const first = await read()
    const second = await read()
    return new RedisMeter(client, { ...subtract(second, first), cpu: 0, at: 0 })
  }

  async read(): Promise<Counters> {
    const text = await this.client.sendCommand(["INFO", "cpu", "stats", "commandstats"])
    return parse(String(text), performance.now())
  }

  /** What happened between two reads, less the reads' own traffic. */
  delta(before: Counters, after: Counters): Counters {
    const raw = subtract(after, before)
    return {
      ...raw,
      calls: raw.calls - this.own.calls,
      bytesIn: raw.bytesIn - this.own.bytesIn,
      bytesOut: raw.bytesOut - this.own.bytesOut
    }
  }

  /** Measures `work` as Redis sees it. */
  async measure<A>(work: () => Promise<A>): Promise<{ readonly result: A; readonly redis: Counters }> {
    const before = await this.read()
    const result = await work()
    const after = await this.read()
    return { result, redis: this.delta(before, after) }
  }

  /** Keys matching `pattern` (a SCAN pattern), at most `limit` of them. */
  async keys(pattern: string, limit = 1_000_000): Promise<Array<string>> {
    const keys: Array<string> = []
    for await (const batch of this.client.scanIterator({ MATCH: pattern, COUNT: 1000 })) {
      keys.push(...batch)
      if (keys.length >= limit) break
    }
    return keys
  }

  /** `MEMORY USAGE` (every element counted: SAMPLES 0) of each key, summed; pipelined a thousand at a time. */
  async memoryUsage(keys: ReadonlyArray<string>): Promise<number> {
    let bytes = 0
    for (let i = 0; i < keys.length; i += 1000) {
      const multi = this.client.multi()
      for (const key of keys.slice(i, i + 1000)) multi.memoryUsage(key, { SAMPLES: 0 })
      for (const reply of await multi.execAsPipeline()) bytes += Number(reply ?? 0)
    }
    return bytes
  }

  /** Removes every key matching `pattern`. */
  async removeKeys(pattern: string): Promise<void> {
    const keys = await this.keys(pattern)
    for (let i = 0; i < keys.length; i += 1000) await this.client.del(keys.slice(i, i + 1000))
  }

  close(): void {
    this.client.destroy()
  }
}
