import { Effect, Layer } from "effect"
import type { Admission } from "../../services/AudioLedger.js"
import { AudioLedger } from "../../services/AudioLedger.js"
import type { AudioHolding } from "../../services/AudioStore.js"
import { RedisConnection } from "../redis/Connection.js"

/**
 * The ledger of an audio directory shared by every process on one Redis registry, kept in Redis beside the registry
 * (same prefix, same connection), each step one Lua script (./lua). The budget is stored by the first process and
 * applied by all; a task is active while the registry holds its record, which the scripts read in the same step.
 * Every call fails with `RegistryUnavailable` while Redis cannot be reached: a write then fails, never goes unbudgeted.
 */
export const make = Effect.gen(function* () {
  const { call, prefix: P } = yield* RedisConnection
  // This process's budget, given to the scripts that store it when the registry has none (a Redis that lost its data).
  let ours = 0

  const unexpected = (name: string, reply: unknown) =>
    Effect.dieMessage(`The Redis script audio ${name}.lua answered ${JSON.stringify(reply)?.slice(0, 200)}`)
  const strings = (reply: unknown): ReadonlyArray<string> => (Array.isArray(reply) ? reply.map(String) : [])

  const budget = (mine: number) => {
    ours = mine
    return Effect.map(
      call((c) => c.audioBudget(P, [String(mine)])),
      (reply) => Number(reply)
    )
  }

  return AudioLedger.of({
    budget,
    reserve: (taskId, size) => {
      const token = crypto.randomUUID()
      return Effect.flatMap(
        call((c) => c.audioReserve(P, [token, String(size), String(ours)])),
        (reply): Effect.Effect<Admission> => {
          if (!Array.isArray(reply) || reply.length !== 3) return unexpected("reserve", reply)
          const [answer, maxBytes, victims] = reply as [string, number, unknown]
          switch (answer) {
            case "ok":
              return Effect.succeed({ _tag: "Admitted", token, victims: strings(victims) })
            case "busy":
              return Effect.succeed({ _tag: "Busy", victims: strings(victims) })
            case "full":
              return Effect.succeed({ _tag: "Full", victims: strings(victims), maxBytes: Number(maxBytes) })
            default:
              return unexpected("reserve", reply)
          }
        }
      ).pipe(Effect.annotateLogs("taskId", taskId))
    },
    commit: (token, taskId, segmentId, bytes, at) =>
      Effect.asVoid(call((c) => c.audioCommit(P, [token, taskId, segmentId, String(bytes), String(Math.floor(at))]))),
    cancel: (token) => Effect.asVoid(call((c) => c.audioCancel(P, [token]))),
    pick: (cutoff, limit) =>
      Effect.map(
        call((c) =>
          c.audioPick(P, [String(Math.max(Number.MIN_SAFE_INTEGER, Math.floor(cutoff))), String(ours), String(limit)])
        ),
        strings
      ),
    take: (taskId) =>
      Effect.map(
        call((c) => c.audioTake(P, [taskId])),
        (reply) => reply === 1
      ),
    release: (taskId) => Effect.asVoid(call((c) => c.audioRelease(P, [taskId]))),
    reconcile: (found) =>
      Effect.forEach(
        found,
        ({ files, lastWrite, taskId }) =>
          call((c) =>
            c.audioReconcile(P, [taskId, String(Math.floor(lastWrite)), ...files.flatMap(([s, b]) => [s, String(b)])])
          ),
        { concurrency: 8, discard: true }
      ),
    usage: Effect.flatMap(
      call((c) => c.audioUsage(P, [])),
      (reply) =>
        Array.isArray(reply) && reply.length === 2
          ? Effect.succeed({ bytes: Number(reply[0]), tasks: Number(reply[1]) })
          : unexpected("usage", reply)
    ),
    holdings: Effect.map(
      call((c) => c.audioHoldings(P, [])),
      (reply) => {
        const flat = strings(reply)
        const out: Array<AudioHolding> = []
        for (let i = 0; i + 2 < flat.length; i += 3) {
          out.push({ taskId: flat[i]!, bytes: Number(flat[i + 1]), lastWrite: Number(flat[i + 2]) })
        }
        return out
      }
    )
  })
})

/** The ledger in Redis, over the Redis registry's connection and prefix. */
export const layer: Layer.Layer<AudioLedger, never, RedisConnection> = Layer.effect(AudioLedger, make)
