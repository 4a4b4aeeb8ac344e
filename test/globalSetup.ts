import { execFileSync } from "node:child_process"

/**
 * Builds the server and the dashboard (`npm run build`) once, before any test file runs: the HTTP tests serve the
 * built dashboard, and the end-to-end and browser tests run `dist/main.js`. Built here rather than in a test file,
 * so that no test rewrites dist/ while another test's server is loading it.
 */
export default function setup() {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: new URL("../", import.meta.url), stdio: "inherit" })
}
