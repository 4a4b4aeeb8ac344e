// Builds the dashboard into dist/dashboard: its TypeScript compiled by web/tsconfig.json, beside the page and its
// stylesheet. Part of `npm run build`; the server serves that folder (src/http/Dashboard.ts).
import { execFileSync } from "node:child_process"
import { copyFileSync, mkdirSync, rmSync } from "node:fs"
import { createRequire } from "node:module"

const root = new URL("../", import.meta.url)
const out = new URL("dist/dashboard/", root)
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")

// A module deleted from web/ must not linger in the folder the server serves.
rmSync(out, { recursive: true, force: true })
execFileSync(process.execPath, [tsc, "-p", "web/tsconfig.json"], { cwd: root, stdio: "inherit" })
mkdirSync(out, { recursive: true })
for (const file of ["index.html", "style.css"]) copyFileSync(new URL(`web/${file}`, root), new URL(file, out))
