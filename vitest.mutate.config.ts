import { defineConfig } from "vitest/config"
import base from "./vitest.config.js"

/**
 * The tests that `npm run mutate` runs against each mutant of `src/domain` and `src/layers/registry`: the domain's
 * unit tests, the registry layers' own tests and the contract suite on the in-memory store. No end-to-end, browser
 * or Redis tests: they cover these files too, but through processes and servers, far too slowly to run per mutant.
 * (Written out rather than merged with vitest.config.ts, whose `include` a merge would add to.)
 */
export default defineConfig({
  resolve: base.resolve,
  test: {
    include: ["test/domain/**/*.test.ts", "test/layers/registry/**/*.test.ts"],
    // None of these tests reads dist/: no globalSetup to emit it.
    testTimeout: 30_000,
    // Read by the few tests too slow to run once per mutant, which then skip.
    env: { STORYFLOW_MUTATION_RUN: "1" },
    maxWorkers: 1,
    minWorkers: 1
  }
})
