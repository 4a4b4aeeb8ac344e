import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"

// The examples are run against the packed package, as a user's app runs them, by test/consumer/package.test.ts.

describe("examples", () => {
  it.each(["greeting.ts", "registry.ts", "redis.ts"])(
    "the README shows examples/%s exactly as it is tested",
    (file) => {
      const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
      const example = readFileSync(new URL(`../examples/${file}`, import.meta.url), "utf8")
      expect(readme).toContain(example.trim())
    }
  )
})
