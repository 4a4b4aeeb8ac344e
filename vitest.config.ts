import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    // Examples import the package by its published name, exactly as a user's app would.
    alias: [
      { find: /^storyflow-tasks\/redis$/, replacement: fileURLToPath(new URL("./src/redis.ts", import.meta.url)) },
      { find: /^storyflow-tasks\/server$/, replacement: fileURLToPath(new URL("./src/server.ts", import.meta.url)) },
      { find: /^storyflow-tasks$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    // Emits dist/ once for the tests that serve the dashboard or start the built server (test/e2e, test/browser).
    globalSetup: ["test/globalSetup.ts"],
    testTimeout: 30_000,
    // Much of the suite waits on other processes (servers, Redis, chromium) rather than computing: on two cores,
    // three files at a time finish sooner than the default one.
    maxWorkers: 3,
    minWorkers: 1
  }
})
