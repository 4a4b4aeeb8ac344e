// What `tsc -p tsconfig.build.json` does not write into dist/, as part of `npm run build`: the Redis store's Lua
// scripts, copied beside the module that reads them (src/layers/redis/Scripts.ts), and the dashboard, its
// TypeScript compiled by web/tsconfig.json into dist/dashboard beside the page and its stylesheet (served by
// src/http/Dashboard.ts).
import { execFileSync } from "node:child_process"
import { copyFileSync, cpSync, mkdirSync, rmSync } from "node:fs"
import { createRequire } from "node:module"

const root = new URL("../", import.meta.url)
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")

// Every asset under src/ that is not TypeScript (the .lua files), at the same path under dist/.
cpSync(new URL("src/", root), new URL("dist/", root), {
  recursive: true,
  filter: (source) => !/\.[cm]?ts$/.test(source)
})

const dashboard = new URL("dist/dashboard/", root)
// A module deleted from web/ must not linger in the folder the server serves.
rmSync(dashboard, { recursive: true, force: true })
execFileSync(process.execPath, [tsc, "-p", "web/tsconfig.json"], { cwd: root, stdio: "inherit" })
mkdirSync(dashboard, { recursive: true })
for (const file of ["index.html", "style.css"]) copyFileSync(new URL(`web/${file}`, root), new URL(file, dashboard))
