// @ts-check
/**
 * Mutation testing (`npm run mutate`, not part of `npm test`) of the domain and the registry layers, against the
 * tests in vitest.mutate.config.ts. Survivors left are each explained in docs/mutation-survivors.md.
 *
 * Iterating on one file: `npx stryker run --mutate src/layers/registry/Sweeper.ts` (incremental mode reuses the
 * results of mutants whose code and tests did not change, from reports/stryker-incremental.json).
 *
 * @type {import("@stryker-mutator/api/core").PartialStrykerOptions}
 */
export default {
  mutate: ["src/domain/**/*.ts", "src/layers/registry/**/*.ts"],
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutate.config.ts", related: false },
  plugins: ["@stryker-mutator/vitest-runner"],
  coverageAnalysis: "perTest",
  // Mutants in code that runs once when a module loads (schemas, constants) would need every test rerun per mutant.
  ignoreStatic: true,
  // The suite relies on timing (TestClock, fibers): one mutant at a time keeps it steady on a busy machine.
  concurrency: 1,
  incremental: true,
  incrementalFile: "reports/stryker-incremental.json",
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  thresholds: { high: 95, low: 90, break: 90 },
  timeoutMS: 10000,
  tempDirName: ".stryker-tmp",
  cleanTempDir: true
}
