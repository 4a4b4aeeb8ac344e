import { randomUUID } from "node:crypto"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

export default defineConfig({
  resolve: {
    // Examples import the package by its published name, exactly as a user's app would.
    alias: [
      { find: /^storyflow-tasks\/server$/, replacement: fileURLToPath(new URL("./src/server.ts", import.meta.url)) },
      { find: /^storyflow-tasks$/, replacement: fileURLToPath(new URL("./src/index.ts", import.meta.url)) }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    // One id per run, so that the end-to-end files build the server once between them (test/support/build.ts).
    env: { STORYFLOW_TEST_RUN: randomUUID() },
    testTimeout: 30_000
  }
})
