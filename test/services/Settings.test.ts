import { describe, expect, it } from "@effect/vitest"
import { Cause, Config, ConfigError, ConfigProvider, Effect, Exit, Option } from "effect"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import * as Settings from "../../src/services/Settings.js"

const src = fileURLToPath(new URL("../../src/", import.meta.url))
const SETTINGS = join("services", "Settings.ts")

/** Every `Config` the settings module exports, by name. */
const readers: ReadonlyArray<{ readonly name: string; readonly config: Config.Config<unknown> }> = Object.entries(
  Settings
).flatMap(([name, value]) => (Config.isConfig(value) ? [{ name, config: value }] : []))

/** A provider of `env` that notes every variable a read asks it for, as often as it is asked. */
const recording = (env: Record<string, string>) => {
  const asked: Array<string> = []
  const base = ConfigProvider.fromMap(new Map(Object.entries(env))).flattened
  const provider = ConfigProvider.fromFlat(
    ConfigProvider.makeFlat({
      load: (path, primitive, split) => {
        asked.push(path.join("_"))
        return base.load(path, primitive, split)
      },
      enumerateChildren: (path) => base.enumerateChildren(path),
      patch: base.patch
    })
  )
  return { asked, provider }
}

/** What `config` reads from `env`, with the variables it asked for. */
const read = <A>(config: Config.Config<A>, env: Record<string, string> = {}) => {
  const { asked, provider } = recording(env)
  const exit = Effect.runSyncExit(Effect.withConfigProvider(config, provider))
  return { asked, exit }
}

/** Each exported reader, with the variables it reads when nothing is set (every one of them: defaults apply). */
const variablesOf = readers.map(({ name, config }) => ({ name, config, variables: read(config).asked }))
const variables = new Set(variablesOf.flatMap((reader) => reader.variables))

/** The readers that read `variable`. */
const readersOf = (variable: string) => variablesOf.filter((reader) => reader.variables.includes(variable))

/** Every failure in a `ConfigError`, as the variable it is reported at and its message. */
const failures = (error: ConfigError.ConfigError): Array<{ readonly at: string; readonly message: string }> =>
  ConfigError.isAnd(error) || ConfigError.isOr(error)
    ? [...failures(error.left), ...failures(error.right)]
    : [{ at: error.path.join("_"), message: error.message }]

/** The `ConfigError` an exit failed with, if it did. */
const errorOf = <A>(exit: Exit.Exit<A, ConfigError.ConfigError>) =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined

const isVariableName = (text: string) => /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/.test(text) && text.length > 2

const sourceFiles = readdirSync(src, { recursive: true, encoding: "utf8" })
  .filter((file) => file.endsWith(".ts"))
  .map((file) => ({
    file,
    source: ts.createSourceFile(file, readFileSync(join(src, file), "utf8"), ts.ScriptTarget.Latest, true)
  }))

const nodesOf = (source: ts.SourceFile) => {
  const nodes: Array<ts.Node> = []
  const visit = (node: ts.Node) => {
    nodes.push(node)
    ts.forEachChild(node, visit)
  }
  visit(source)
  return nodes
}

describe("Settings: one module reads the environment", () => {
  it("no module in src but Settings.ts can read a variable: no Config or ConfigProvider values, no process.env", () => {
    const offences: Array<string> = []
    for (const { file, source } of sourceFiles) {
      if (file === SETTINGS) continue
      for (const node of nodesOf(source)) {
        const where = `${file}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`
        if (
          ts.isImportDeclaration(node) &&
          ts.isStringLiteral(node.moduleSpecifier) &&
          node.moduleSpecifier.text.startsWith("effect") &&
          node.importClause !== undefined &&
          !node.importClause.isTypeOnly
        ) {
          const bindings = node.importClause.namedBindings
          if (bindings !== undefined && ts.isNamespaceImport(bindings) && /Config/.test(node.moduleSpecifier.text))
            offences.push(`${where} imports ${node.moduleSpecifier.text}`)
          if (bindings !== undefined && ts.isNamedImports(bindings)) {
            for (const element of bindings.elements) {
              const imported = (element.propertyName ?? element.name).text
              if (!element.isTypeOnly && (imported === "Config" || imported === "ConfigProvider"))
                offences.push(`${where} imports ${imported} as a value`)
            }
          }
        }
        // A read however it is spelt: Config.number("X"), Config.array(c, "X"), Config.literal(...)("X").
        if (ts.isCallExpression(node) && node.getText(source).startsWith("Config.")) {
          const named = node.arguments.some((arg) => ts.isStringLiteralLike(arg) && isVariableName(arg.text))
          if (named) offences.push(`${where} reads ${node.getText(source)}`)
        }
        if (ts.isPropertyAccessExpression(node) && node.getText(source) === "process.env")
          offences.push(`${where} reads process.env`)
      }
    }
    expect(offences).toEqual([])
  })

  it("Settings.ts names each variable once, and imports effect alone", () => {
    const settings = sourceFiles.find(({ file }) => file === SETTINGS)!.source
    // The variable of each reader is the first argument of one helper call; messages name it in templates.
    const named = nodesOf(settings).flatMap((node) =>
      ts.isCallExpression(node) &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0]) &&
      isVariableName(node.arguments[0].text)
        ? [node.arguments[0].text]
        : []
    )
    expect(named.filter((name, i) => named.indexOf(name) !== i)).toEqual([])
    expect(new Set(named)).toEqual(variables)
    const imports = nodesOf(settings).flatMap((node) =>
      ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) ? [node.moduleSpecifier.text] : []
    )
    expect(new Set(imports)).toEqual(new Set(["effect"]))
  })

  it("every reader asks for each of its variables once", () => {
    for (const { name, variables } of variablesOf) {
      expect({ name, repeated: variables.filter((v, i) => variables.indexOf(v) !== i) }).toEqual({ name, repeated: [] })
    }
  })

  it("HOST is one setting: the listener listens on the host the guards allow", () => {
    expect(readersOf("HOST").map((reader) => reader.name)).toEqual(["listener", "guards"])
    const env = { HOST: "tasks.internal" }
    const listener = Effect.runSync(Effect.withConfigProvider(Settings.listener, recording(env).provider))
    const guards = Effect.runSync(Effect.withConfigProvider(Settings.guards, recording(env).provider))
    expect([listener.host, guards.listenHost]).toEqual(["tasks.internal", "tasks.internal"])
  })
})

describe("Settings: the README's Configuration table", () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8")
  const section = readme.slice(
    readme.indexOf("\n## Configuration"),
    readme.indexOf("\n## ", readme.indexOf("\n## Configuration") + 1)
  )
  const rows = section
    .split("\n")
    .filter((line) => line.startsWith("| `"))
    .map((line) => line.split("|").map((cell) => cell.trim()))
    .map(([, variable = "", fallback = "", meaning = ""]) => ({
      names: [...variable.matchAll(/`([A-Z0-9_]+)`/g)].map((match) => match[1]!),
      fallback,
      meaning
    }))

  it("lists every variable Settings reads, and no other, each once and with a meaning", () => {
    const listed = rows.flatMap((row) => row.names)
    expect(listed.filter((name, i) => listed.indexOf(name) !== i)).toEqual([])
    expect(new Set(listed)).toEqual(variables)
    for (const row of rows) expect(row.meaning).not.toBe("")
  })

  it("gives each variable's real default: setting it to the listed default changes nothing", () => {
    for (const { names, fallback } of rows) {
      // "(none)", "(a key file)": no value to write down.
      if (fallback.startsWith("(")) continue
      expect(names).toHaveLength(1)
      const name = names[0]!
      for (const { name: reader, config } of readersOf(name)) {
        const unset = Effect.runSync(Effect.withConfigProvider(config, recording({}).provider))
        const listed = Effect.runSync(Effect.withConfigProvider(config, recording({ [name]: fallback }).provider))
        expect({ name, reader, value: listed }).toEqual({ name, reader, value: unset })
      }
    }
  })
})

describe("Settings: a bad value names its variable", () => {
  // Variables whose every value is taken as it is.
  const anyText = new Set(["HOST", "AUDIO_DIR"])
  const bad: ReadonlyArray<readonly [string, string]> = [
    ["TASK_CLEANUP_THRESHOLD", "-1"],
    ["TASK_CLEANUP_THRESHOLD", "soon"],
    ["TASK_CLEANUP_INTERVAL", "Infinity"],
    ["TASK_CLEANUP_INTERVAL", ""],
    ["TASK_MAX_RETAINED", "2.5"],
    ["TASK_MAX_PENDING", "0"],
    ["TASK_MAX_PENDING_WORK", "many"],
    ["TASK_CONCURRENCY", "-1"],
    ["TASK_TOMBSTONES", " "],
    ["TASK_STORE", "disk"],
    ["REDIS_URL", "http://127.0.0.1:6379"],
    ["TASK_REDIS_PREFIX", "a b"],
    ["TASK_LEASE", "0"],
    ["TASK_MAX_ATTEMPTS", "0"],
    ["TASK_ID_SECRET", "too short"],
    ["PORT", "99999"],
    ["PORT", "http"],
    ["HTTP_HEADERS_TIMEOUT", "0"],
    ["HTTP_REQUEST_TIMEOUT", "-5"],
    ["HTTP_KEEPALIVE_TIMEOUT", "x"],
    ["HTTP_SHUTDOWN_GRACE", "0"],
    ["HTTP_TRACE_POLLING", "maybe"],
    ["CORS_ORIGINS", "https://studio.example/"],
    ["ALLOWED_HOSTS", "tasks.example:8000"],
    ["AUDIO_RETENTION", "-1"],
    ["AUDIO_MAX_BYTES", "1.5"],
    ["LOG_FORMAT", "xml"]
  ]

  it("every variable with a rule has a bad value below", () => {
    const covered = new Set([...bad.map(([name]) => name), ...anyText])
    expect([...variables].filter((name) => !covered.has(name))).toEqual([])
  })

  for (const [name, value] of bad) {
    it(`${name}=${JSON.stringify(value)} fails at ${name}, in a message that names it`, () => {
      const readers = readersOf(name)
      expect(readers.length).toBeGreaterThan(0)
      for (const { config } of readers) {
        const { exit } = read(config, { [name]: value })
        const error = errorOf(exit)
        expect(error).toBeDefined()
        for (const failure of error === undefined ? [] : failures(error)) {
          expect(failure.at).toBe(name)
          expect(failure.message).toMatch(new RegExp(`^${name} must be`))
        }
      }
    })
  }

  it("LOG_FORMAT=xml is reported at the variable, as the others are", () => {
    const { exit } = read(Settings.logFormat, { LOG_FORMAT: "xml" })
    expect(String(errorOf(exit))).toBe('(Invalid data at LOG_FORMAT: "LOG_FORMAT must be "pretty" or "json"")')
  })

  it("rules between variables are reported at one of them, naming both", () => {
    const { exit } = read(Settings.listener, { HTTP_HEADERS_TIMEOUT: "40" })
    const error = errorOf(exit)
    expect(error === undefined ? [] : failures(error)).toEqual([
      { at: "HTTP_HEADERS_TIMEOUT", message: "HTTP_HEADERS_TIMEOUT must not be longer than HTTP_REQUEST_TIMEOUT" }
    ])
  })

  it("the in-memory registry refuses TASK_CONCURRENCY=0, which the shared one allows", () => {
    expect(Exit.isSuccess(read(Settings.registry, { TASK_CONCURRENCY: "0" }).exit)).toBe(true)
    const { exit } = read(Settings.registryInMemory, { TASK_CONCURRENCY: "0" })
    const error = errorOf(exit)
    expect(error === undefined ? [] : failures(error).map((failure) => failure.at)).toEqual(["TASK_CONCURRENCY"])
  })
})
