import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"

/**
 * Builds `dist/` once, before any test file runs, for the tests that start the built server as a process (several
 * files do, at once: building in each would compete for the same two cores and the same output folder).
 */
export default function setup() {
  const root = fileURLToPath(new URL("..", import.meta.url))
  execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
    cwd: root,
    stdio: "inherit"
  })
}
