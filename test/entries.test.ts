import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const src = fileURLToPath(new URL("../src/", import.meta.url))

/** Every module `entry` loads, following relative imports (type-only imports load nothing), and the packages. */
const graph = (entry: string) => {
  const modules = new Set<string>()
  const packages = new Set<string>()
  const visit = (file: string) => {
    if (modules.has(file)) return
    modules.add(file)
    const text = readFileSync(file, "utf8")
    for (const [, typeOnly, specifier] of text.matchAll(/^(?:import|export)\s+(type\s+)?[^"']*?from\s+"([^"]+)"/gm)) {
      if (typeOnly !== undefined) continue
      if (specifier!.startsWith(".")) visit(join(dirname(file), specifier!.replace(/\.js$/, ".ts")))
      else
        packages.add(
          specifier!.startsWith("@") ? specifier!.split("/").slice(0, 2).join("/") : specifier!.split("/")[0]!
        )
    }
  }
  visit(join(src, entry))
  return { modules: [...modules].map((m) => relative(src, m)), packages: [...packages] }
}

describe("package entries", () => {
  it("the main entry is the registry library alone: no server, no HTTP platform, no speech engine", () => {
    const { modules, packages } = graph("index.ts")
    // node:crypto signs task ids; it is part of Node itself, not a package to install.
    expect(packages.sort()).toEqual(["effect", "node:crypto"])
    expect(modules.filter((m) => m.startsWith("http/") || m === "App.ts" || m.includes("Espeak"))).toEqual([])
  })

  it("storyflow-tasks/server holds the server and the speech engine", () => {
    const { modules, packages } = graph("server.ts")
    expect(modules).toEqual(expect.arrayContaining(["App.ts", "http/HttpApp.ts", "layers/speech/EspeakSynthesizer.ts"]))
    expect(packages).toEqual(expect.arrayContaining(["@effect/platform", "@effect/platform-node"]))
  })

  it("storyflow-tasks/redis holds the Redis registry and its client, and nothing of the server", () => {
    const { modules, packages } = graph("redis.ts")
    // node:fs reads the Lua scripts from beside their module.
    expect(packages.sort()).toEqual(["@redis/client", "effect", "node:crypto", "node:fs"])
    expect(modules.filter((m) => m.startsWith("http/") || m === "App.ts" || m.includes("Espeak"))).toEqual([])
  })

  it("only the composition root and the package entries import src/layers", () => {
    const files = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"))
    const importers = files
      .filter((f) => !f.startsWith("layers/"))
      .filter((f) => /from "(\.\.?\/)+layers\//.test(readFileSync(join(src, f), "utf8")))
    expect(importers.sort()).toEqual(["App.ts", "index.ts", "redis.ts", "server.ts"])
  })
})
