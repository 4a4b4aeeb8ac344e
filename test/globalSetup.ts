import { copyFileSync, cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

/**
 * Emits the server, its Lua scripts and the dashboard into dist/ once, before any test file runs, as `npm run build` lays them out:
 * the HTTP tests serve the built dashboard, and the end-to-end and browser tests run `dist/main.js`. Emitted here
 * rather than in a test file, so that no test rewrites dist/ while another test's server is loading it.
 *
 * Only emitted, module by module (`transpileModule`, the compiler's own emitter; both projects are
 * `isolatedModules`, so the JavaScript is what `tsc` writes), in a second or two: a full `tsc` build takes 15–25 s
 * on two cores and would hold every test back. The types are checked by `npm test`'s `tsc --noEmit` steps first.
 */
export default function setup() {
  const root = fileURLToPath(new URL("../", import.meta.url))
  emit(join(root, "tsconfig.build.json"))
  // The assets beside the modules (the Redis store's .lua scripts), as scripts/build-assets.mjs copies them.
  cpSync(join(root, "src"), join(root, "dist"), { recursive: true, filter: (source) => !/\.[cm]?ts$/.test(source) })
  const dashboard = emit(join(root, "web", "tsconfig.json"), { clean: true })
  for (const name of readdirSync(join(root, "web")).filter((name) => /\.(html|css)$/.test(name))) {
    copyFileSync(join(root, "web", name), join(dashboard, name))
  }
}

/** Emits each file of the project `configPath` into its `outDir`, and answers that folder. */
const emit = (configPath: string, { clean = false } = {}) => {
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic })
  const { outDir, rootDir } = config?.options ?? {}
  if (config === undefined || outDir === undefined || rootDir === undefined) {
    throw new Error(`${configPath} names no outDir and rootDir`)
  }
  if (clean) rmSync(outDir, { recursive: true, force: true })
  // One file alone does not tell NodeNext its format; every module here is ESM (package.json: "type": "module").
  const nodeNext = config.options.module === ts.ModuleKind.NodeNext
  const compilerOptions = {
    ...config.options,
    ...(nodeNext ? { module: ts.ModuleKind.ESNext } : {}),
    declaration: false,
    sourceMap: false
  }
  for (const file of config.fileNames) {
    const { outputText } = ts.transpileModule(readFileSync(file, "utf8"), { compilerOptions, fileName: file })
    const target = join(outDir, relative(rootDir, file)).replace(/\.ts$/, ".js")
    mkdirSync(dirname(target), { recursive: true })
    writeFileSync(target, outputText)
  }
  return outDir
}

const onUnRecoverableConfigFileDiagnostic = (diagnostic: ts.Diagnostic) => {
  throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"))
}
