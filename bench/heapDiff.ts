import { readFileSync } from "node:fs"

// Compares two V8 heap snapshots by constructor (or, for strings, closures and arrays, by kind): how many more
// objects of each, and how many more bytes of their own, the second holds, divided by `per` (the clients that
// the second has and the first has not). For ./sse-heap.ts:
//   node --import tsx bench/heapDiff.ts idle.heapsnapshot task.heapsnapshot 500 [rows]

interface Totals {
  count: number
  bytes: number
}

const totals = (file: string): Map<string, Totals> => {
  const snapshot = JSON.parse(readFileSync(file, "utf8")) as {
    snapshot: { meta: { node_fields: Array<string>; node_types: [Array<string>, ...Array<unknown>] } }
    nodes: Array<number>
    strings: Array<string>
  }
  const fields = snapshot.snapshot.meta.node_fields
  const types = snapshot.snapshot.meta.node_types[0]
  const width = fields.length
  const type = fields.indexOf("type")
  const name = fields.indexOf("name")
  const size = fields.indexOf("self_size")
  const byKey = new Map<string, Totals>()
  const nodes = snapshot.nodes
  for (let i = 0; i < nodes.length; i += width) {
    const kind = types[nodes[i + type]!]!
    const label = kind === "object" || kind === "native" ? snapshot.strings[nodes[i + name]!]! : ""
    const closure = kind === "closure" ? ` ${snapshot.strings[nodes[i + name]!]}` : ""
    const key = `${kind}${label === "" ? "" : ` ${label.slice(0, 60)}`}${closure.slice(0, 60)}`
    const t = byKey.get(key) ?? { count: 0, bytes: 0 }
    t.count++
    t.bytes += nodes[i + size]!
    byKey.set(key, t)
  }
  return byKey
}

const [before, after, perArg, rowsArg] = process.argv.slice(2)
const per = Number(perArg ?? 1)
const a = totals(before!)
const b = totals(after!)
const rows = [...b]
  .map(([key, t]) => {
    const was = a.get(key) ?? { count: 0, bytes: 0 }
    return { key, count: (t.count - was.count) / per, bytes: (t.bytes - was.bytes) / per }
  })
  .sort((x, y) => y.bytes - x.bytes)
const sum = rows.reduce((s, r) => s + r.bytes, 0)
console.log(`self bytes per client, all kinds: ${sum.toFixed(0)}`)
for (const r of rows.slice(0, Number(rowsArg ?? 40)))
  console.log(`${r.bytes.toFixed(0).padStart(7)} B  ${r.count.toFixed(2).padStart(7)} ×  ${r.key}`)
