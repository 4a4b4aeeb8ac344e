import { readFileSync } from "node:fs"

// The audio ledger's atomic steps on Redis, one Lua script each, in ./lua: `prelude.lua` says which keys they keep.
// Read once, when this module loads, from beside it (the build copies them into dist/).

const load = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), "utf8")
const prelude = load("prelude")
const step = (name: string) => `${prelude}\n${load(name)}`

export const budget = step("budget")
export const reserve = step("reserve")
export const commit = step("commit")
export const cancel = step("cancel")
export const pick = step("pick")
export const take = step("take")
export const release = step("release")
export const reconcile = step("reconcile")
export const usage = step("usage")
export const holdings = step("holdings")
