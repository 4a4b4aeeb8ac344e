import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { createClient } from "@redis/client"
import * as NodeServer from "../../../src/http/transport/NodeServer.js"
import { batch, get, pollUntil, postJson, serverLayer } from "../../support/http.js"
import { ownRedis, testPrefix } from "../../support/redis.js"

// On Redis a read cannot finish without a round trip, so the poll fast path (src/http/transport/Polling.ts) is not
// installed: each poll is one read, through the platform. (Installed, it sent a read script, gave up on it as it could
// not answer at once, and the platform sent a second: 100 polls, 200 scripts.)

/** Script calls the server at `url` has run so far (`INFO commandstats`: evalsha and eval, read-only forms too). */
const scriptCalls = (url: string) =>
  Effect.acquireUseRelease(
    Effect.promise(() =>
      createClient({ url })
        .on("error", () => {})
        .connect()
    ),
    (client) =>
      Effect.promise(async () => {
        const info = await client.info("commandstats")
        let calls = 0
        for (const match of info.matchAll(/^cmdstat_(evalsha|eval|evalsha_ro|eval_ro):calls=(\d+)/gm)) {
          calls += Number(match[2])
        }
        return calls
      }),
    (client) => Effect.promise(() => client.close())
  )

describe("status polls on Redis", () => {
  it.live(
    "are not answered ahead of the platform, and each costs exactly one read",
    () =>
      Effect.gen(function* () {
        const redis = yield* ownRedis
        yield* redis.start
        const polls = 100
        yield* Effect.gen(function* () {
          expect((yield* NodeServer.NodeServer).intercept).toBeUndefined()
          const id: string = (yield* postJson("/api/tasks", batch(1))).body.task_id
          yield* pollUntil(id, "COMPLETED")
          // The store's own loops (reaping every TASK_LEASE/6, here 10 s) stay out of the window.
          const before = yield* scriptCalls(redis.url)
          for (let i = 0; i < polls; i++) expect((yield* get(`/api/tasks/${id}`)).body.status).toBe("COMPLETED")
          const used = (yield* scriptCalls(redis.url)) - before
          expect(used).toBeGreaterThanOrEqual(polls)
          expect(used).toBeLessThanOrEqual(polls + 2)
        }).pipe(
          Effect.provide(
            serverLayer({
              TASK_STORE: "redis",
              REDIS_URL: redis.url,
              TASK_REDIS_PREFIX: testPrefix(),
              TASK_LEASE: "60"
            })
          )
        )
      }).pipe(Effect.scoped),
    60_000
  )
})
