import { execFile } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"

// The end-to-end tests run the built server (`node dist/main.js`, what `npm start` runs). Several test files need
// it, and vitest runs files in parallel: two compilers writing `dist/` at once would let a server start from a
// half-written file, and each build costs the suite most of a minute of CPU. So the first file to ask builds, once
// per `vitest run` (vitest.config.ts gives each run an id), and the others wait for it.

const root = fileURLToPath(new URL("../../", import.meta.url))
const dist = join(root, "dist")
const run = process.env["STORYFLOW_TEST_RUN"] ?? "single"
const marker = join(dist, `.test-build-${run}`)

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

/** Builds `dist/` unless another test file of this run has built it or is building it; then waits for that. */
export const buildServer = async (seconds = 150): Promise<void> => {
  mkdirSync(dist, { recursive: true })
  let mine = false
  try {
    mkdirSync(marker) // atomic: exactly one file of this run gets to build
    mine = true
  } catch {
    // Another file of this run builds: wait below.
  }
  if (mine) {
    for (const name of readdirSync(dist)) {
      if (name.startsWith(".test-build-") && join(dist, name) !== marker) rmSync(join(dist, name), { recursive: true })
    }
    try {
      await promisify(execFile)(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
        cwd: root
      })
      writeFileSync(join(marker, "done"), "")
    } catch (e) {
      writeFileSync(join(marker, "failed"), String(e))
      throw e
    }
    return
  }
  const deadline = Date.now() + seconds * 1000
  while (Date.now() < deadline) {
    if (existsSync(join(marker, "done"))) return
    if (existsSync(join(marker, "failed"))) {
      throw new Error(`the build failed in another test file: ${readFileSync(join(marker, "failed"), "utf8")}`)
    }
    await sleep(100)
  }
  throw new Error(`no build of dist/ finished within ${seconds} s`)
}
