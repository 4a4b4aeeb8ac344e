import { readFileSync } from "node:fs"

// The Redis registry's atomic steps, one Lua script each, in ./lua: `prelude.lua` says what every script gets and
// which keys it keeps, and holds the steps the scripts share; each other file is one step, documented at its top.
// They are read once, when this module loads, from beside it (the build copies them into dist/).

const load = (name: string) => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), "utf8")

const prelude = load("prelude")
const step = (name: string) => `${prelude}\n${load(name)}`

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
