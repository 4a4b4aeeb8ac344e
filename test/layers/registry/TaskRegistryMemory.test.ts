import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TaskRegistry } from "../../../src/services/TaskRegistry.js"
import { eventually, memoryHarness } from "../../support/registry.js"
import { registrySuite } from "../../support/registrySuite.js"
import * as Jobs from "../../support/script.js"
import { submit } from "../../support/script.js"

registrySuite("TaskRegistryMemory", memoryHarness)

describe("TaskRegistryMemory, in-memory specifics", () => {
  const using = (env: Record<string, string>) => Effect.provide(memoryHarness.layer(env))

  describe("bounded memory", () => {
    // Ten seconds of submissions, which would run again for each mutant of the store: `npm run mutate` leaves it out
    // (the eviction suite covers the same rules on a few tasks).
    it.effect.skipIf(process.env.STORYFLOW_MUTATION_RUN === "1")(
      "keeps records within the configured bounds over 12,000 submissions spread over hours",
      () =>
        Effect.gen(function* () {
          const registry = yield* TaskRegistry
          const checkpoints: Array<number> = []
          for (let i = 1; i <= 12_000; i++) {
            yield* submit(Jobs.instant())
            if (i % 100 === 0) {
              yield* eventually(registry.stats, (s) => s.pending + s.processing === 0)
              // 100 submissions a simulated minute: 12,000 of them span 2 hours, twice the threshold.
              // (The benchmark runs 1,000,000; this keeps the suite quick.)
              yield* memoryHarness.advance("1 minute")
            }
            if (i % 2_400 === 0) {
              const stats = yield* registry.stats
              checkpoints.push(stats.finished)
              expect(stats.finished).toBeLessThanOrEqual(1000)
              expect(stats.pending + stats.processing).toBeLessThanOrEqual(100)
              expect(stats.tombstones).toBeLessThanOrEqual(5000)
            }
          }
          // The cap is what binds at this rate, so the count holds steady at it rather than creeping up.
          expect(checkpoints).toEqual([1000, 1000, 1000, 1000, 1000])
        }).pipe(using({ TASK_MAX_RETAINED: "1000", TASK_TOMBSTONES: "5000", TASK_CLEANUP_INTERVAL: "600" })),
      120_000
    )
  })
})
