import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { readFileSync } from "node:fs"
import { program } from "../examples/registry.js"

describe("examples", () => {
  it.live("the README's registry example runs to COMPLETED", () =>
    Effect.gen(function* () {
      const task = yield* program
      expect(task._tag).toBe("COMPLETED")
    })
  )

  it("the README shows the example exactly as it is tested", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8")
    const example = readFileSync(new URL("../examples/registry.ts", import.meta.url), "utf8")
    expect(readme).toContain(example.trim())
  })
})
