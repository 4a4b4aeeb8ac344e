import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFile } from "node:child_process"
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { redisUrl, removeKeys, requireRedis, testPrefix } from "../support/redis.js"

// The package as a user gets it: packed (its `prepare` build included), installed from the tarball with `effect`
// into an empty app, type-checked there as strictly as an app would (NodeNext, strict, no skipLibCheck), and the
// README's examples run against it, the main entry in memory and `storyflow-tasks/redis` on Redis.

const root = fileURLToPath(new URL("../../", import.meta.url))
const run = promisify(execFile)

/** The oldest `effect` the package supports (its peer range's floor), so that the floor is what is tested. */
const EFFECT_FLOOR = "3.22.2"
/** A library-only install (the package and `effect`, nothing else) must stay under this. */
const LIBRARY_INSTALL_MAX_BYTES = 30 * 1024 * 1024

/** npm's own variables from the `npm test` this runs under would steer the nested npm (its prefix, its scripts). */
const cleanEnv = (extra: Record<string, string> = {}) => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith("npm_"))),
  ...extra
})

const sh = (file: string, args: ReadonlyArray<string>, cwd: string, env: Record<string, string> = {}) =>
  Effect.promise(() =>
    run(file, args, { cwd, env: cleanEnv(env), timeout: 240_000, maxBuffer: 64 * 1024 * 1024 }).catch(
      (error: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(
          `${file} ${args.join(" ")} failed in ${cwd}: ${error.message}\n${error.stdout}\n${error.stderr}`
        )
      }
    )
  )

const npm = (args: ReadonlyArray<string>, cwd: string) =>
  sh("npm", [...args, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], cwd)

/** The version of a package this repository installed, so that the app gets the same one (from npm's cache). */
const installed = (name: string): string =>
  JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version

/** Bytes of every file under `dir` (its apparent size: what the files hold, not the disk blocks they take). */
const bytesUnder = (dir: string): number =>
  readdirSync(dir, { recursive: true, encoding: "utf8" }).reduce((sum, path) => {
    const stats = statSync(join(dir, path), { throwIfNoEntry: false })
    return stats?.isFile() ? sum + stats.size : sum
  }, 0)

/** `name@version license` of every package under `node_modules`. */
const licences = (modules: string): Array<string> =>
  readdirSync(modules, { recursive: true, encoding: "utf8" })
    .filter(
      (path) =>
        path.endsWith("package.json") &&
        /^(@[^/]+\/)?[^/@]+\/package\.json$/.test(path.replace(/^.*node_modules\//, ""))
    )
    .map((path) => JSON.parse(readFileSync(join(modules, path), "utf8")))
    .filter((manifest) => typeof manifest.name === "string" && typeof manifest.version === "string")
    .map((manifest) => `${manifest.name}@${manifest.version} ${JSON.stringify(manifest.license ?? "none")}`)

/** A copy of what `npm pack` reads, with this repository's node_modules, so that packing builds nothing here. */
const copyOfRepository = (into: string) => {
  for (const path of [
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "tsconfig.build.json",
    "LICENSE",
    "README.md"
  ]) {
    cpSync(join(root, path), join(into, path))
  }
  for (const dir of ["src", "web", "worker", "scripts", "types"])
    cpSync(join(root, dir), join(into, dir), { recursive: true })
  symlinkSync(join(root, "node_modules"), join(into, "node_modules"), "dir")
}

const APP_TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    lib: ["ES2022"],
    module: "NodeNext",
    moduleResolution: "NodeNext",
    strict: true,
    exactOptionalPropertyTypes: true,
    types: ["node"],
    outDir: "out"
  },
  include: ["*.ts"]
}

describe("the package, installed as a user installs it", () => {
  it.live(
    "packs with dist/, installs with effect alone in under 30 MiB and no GPL code, type-checks strictly, and runs the README's examples to COMPLETED",
    () =>
      Effect.gen(function* () {
        yield* requireRedis()
        const work = mkdtempSync(join(tmpdir(), "storyflow-consumer-"))
        yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(work, { recursive: true, force: true })))

        // Pack: `prepare` builds dist/ in the copy.
        const repo = join(work, "repo")
        mkdirSync(repo)
        copyOfRepository(repo)
        const { stdout: packed } = yield* npm(["pack", "--json", "--pack-destination", work], repo)
        const [{ filename, files }] = JSON.parse(packed) as [{ filename: string; files: Array<{ path: string }> }]
        const paths = files.map((file) => file.path)
        expect(paths).toEqual(
          expect.arrayContaining([
            "LICENSE",
            "README.md",
            "dist/index.js",
            "dist/index.d.ts",
            "dist/redis.js",
            "dist/redis.d.ts",
            "dist/server.js",
            "dist/main.js",
            "dist/layers/redis/lua/submit.lua",
            "dist/dashboard/index.html",
            "worker/espeak.mjs"
          ])
        )
        expect(paths.filter((path) => !/^(dist\/|worker\/|LICENSE$|README\.md$|package\.json$)/.test(path))).toEqual([])
        expect(paths.filter((path) => path.endsWith(".map"))).toEqual([])

        // A library user's install: the package and effect, nothing else.
        const app = join(work, "app")
        mkdirSync(app)
        writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }))
        yield* npm(["install", join(work, filename), `effect@${EFFECT_FLOOR}`], app)
        const modules = join(app, "node_modules")
        expect(
          readdirSync(modules)
            .filter((name) => !name.startsWith("."))
            .sort()
        ).toEqual(["@standard-schema", "effect", "fast-check", "pure-rand", "storyflow-tasks"])
        expect(bytesUnder(modules)).toBeLessThanOrEqual(LIBRARY_INSTALL_MAX_BYTES)
        expect(licences(modules).filter((line) => /GPL/i.test(line))).toEqual([])

        // What the Redis example needs besides, and Node's types for the app's own `console`.
        yield* npm(
          ["install", `@redis/client@${installed("@redis/client")}`, `@types/node@${installed("@types/node")}`],
          app
        )
        for (const example of ["greeting.ts", "registry.ts", "redis.ts"]) {
          cpSync(join(root, "examples", example), join(app, example))
        }
        writeFileSync(join(app, "tsconfig.json"), JSON.stringify(APP_TSCONFIG))
        yield* sh(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", app], app)

        const memory = yield* sh(process.execPath, [join(app, "out", "registry.js")], app)
        expect(memory.stdout.trim()).toBe("COMPLETED")

        const prefix = testPrefix()
        yield* Effect.addFinalizer(() => removeKeys(prefix))
        const redis = yield* sh(process.execPath, [join(app, "out", "redis.js")], app, {
          REDIS_URL: redisUrl,
          TASK_REDIS_PREFIX: prefix
        })
        expect(redis.stdout.trim()).toBe("COMPLETED")
      }).pipe(Effect.scoped),
    300_000
  )
})
