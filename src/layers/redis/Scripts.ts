import { readFileSync } from "node:fs"

// The Redis registry's atomic steps, one Lua script each, in ./lua: `prelude.lua` says what every script gets and
// which keys it keeps, and holds the steps the scripts share; each other file is one step, documented at its top.
// They are read once, when this module loads, from beside it (the build copies them into dist/).

const load = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), "utf8")

const prelude = load("prelude")

/** A top-level declaration of the prelude (`local …` up to the next one), with the comments above it. */
interface Declaration {
  readonly text: string
  readonly names: ReadonlyArray<string>
  /** The code alone, comments removed, to look for the names it uses. */
  readonly code: string
}

const uncommented = (lua: string) => lua.replace(/--.*$/gm, "")

/**
 * The prelude cut into its top-level declarations. Each begins at a line that starts with `local` (a function, or
 * variables) and runs up to the next such line or the comments above it; what comes before the first is the header.
 */
const declarations = (text: string): { readonly header: string; readonly parts: ReadonlyArray<Declaration> } => {
  const lines = text.split("\n")
  const starts: Array<number> = []
  lines.forEach((line, i) => {
    if (!line.startsWith("local ")) return
    // The declaration's own comments, right above it, go with it.
    let from = i
    while (from > 0 && lines[from - 1]!.startsWith("--") && !starts.includes(from - 1)) from--
    starts.push(from)
  })
  const header = lines.slice(0, starts[0] ?? lines.length).join("\n")
  const parts = starts.map((from, k) => {
    const chunk = lines.slice(from, starts[k + 1] ?? lines.length).join("\n")
    const code = uncommented(chunk)
    const declared = /^local\s+function\s+([A-Za-z_]\w*)|^local\s+([A-Za-z_][\w\s,]*?)\s*(?:=|$)/m.exec(code)
    const names = declared?.[1] !== undefined ? [declared[1]] : (declared?.[2] ?? "").split(/\s*,\s*/)
    return { text: chunk, names, code }
  })
  return { header, parts }
}

const { header, parts } = declarations(prelude)

const uses = (code: string, name: string) => new RegExp(`(?<![\\w.])${name}(?!\\w)`).test(code)

/**
 * A step's script: the prelude's declarations that the step uses, directly or through another, in the prelude's
 * order, then the step. Redis runs a script's whole text on every call, and each function the prelude declares is a
 * closure made again on every call (about half a microsecond each): a step that carried the whole prelude paid some
 * 15 µs per call for functions it never calls.
 */
const step = (name: string) => {
  const body = load(name)
  const needed = new Set<Declaration>()
  let code = uncommented(body)
  for (let grew = true; grew;) {
    grew = false
    for (const part of parts) {
      if (needed.has(part) || !part.names.some((n) => uses(code, n))) continue
      needed.add(part)
      code += `\n${part.code}`
      grew = true
    }
  }
  return [header, ...parts.filter((part) => needed.has(part)).map((part) => part.text), body].join("\n")
}

/** The most records one script evicts; a sweep that evicted this many runs again. Set in prelude.lua as `LIMIT`. */
export const EVICTION_LIMIT = Number(/^local LIMIT = (\d+)$/m.exec(prelude)?.[1])

export const submit = step("submit")
export const claim = step("claim")
export const report = step("report")
export const finish = step("finish")
export const cancel = step("cancel")
export const reap = step("reap")
export const renew = step("renew")
export const sweep = step("sweep")
export const wake = step("wake")
export const read = step("read")
export const list = step("list")
/** Reads counts only, so it needs none of the prelude. */
export const stats = load("stats")
/** Stores the policy when none is: it runs before any other script can, and needs none of the prelude. */
export const policy = load("policy")
