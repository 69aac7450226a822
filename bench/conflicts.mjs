// steme conflicts on a store, in-process: CPU time, wall time and the peak JS heap and RSS while it runs.
// usage: node --expose-gc bench/conflicts.mjs <store.duckdb> [dist dir] [lens] [limit] [valid-at date]
import {resolve} from 'node:path'
import {pathToFileURL} from 'node:url'

const [store, dist = 'dist', lens = 'consensus', limit, validAt] = process.argv.slice(2)
const load = (m) => import(pathToFileURL(resolve(dist, m)).href)
const {DuckDBStore} = await load('adapters/duckdb/index.js')
const {conflictsOp} = await load('ops/conflicts.js')
const {DEFAULT_CONFIG} = await load('config.js')
const s = await DuckDBStore.open(store, {readOnly: true})
globalThis.gc?.()
const base = process.memoryUsage()
let heap = base.heapUsed
let rss = base.rss
const timer = setInterval(() => {
  const m = process.memoryUsage()
  heap = Math.max(heap, m.heapUsed)
  rss = Math.max(rss, m.rss)
}, 20)
const cpu0 = process.cpuUsage()
const t0 = performance.now()
const res = await conflictsOp({store: s, config: {...DEFAULT_CONFIG}}, {lens, limit: limit ? Number(limit) : undefined, ...(validAt ? {validAt} : {}), now: 1_800_000_000_000})
const wall = performance.now() - t0
const cpu = process.cpuUsage(cpu0)
clearInterval(timer)
const m = process.memoryUsage()
heap = Math.max(heap, m.heapUsed)
rss = Math.max(rss, m.rss)
const MiB = (b) => (b / 2 ** 20).toFixed(0)
console.log(JSON.stringify({dist, lens, limit: limit ?? null, validAt: validAt ?? null, pairs: res.pairs, rows: res.conflicts.length, cpuMs: Math.round((cpu.user + cpu.system) / 1000), wallMs: Math.round(wall), heapGrowthMiB: MiB(heap - base.heapUsed), rssGrowthMiB: MiB(rss - base.rss), first: res.conflicts[0]?.subject + ' ' + res.conflicts[0]?.predicate + ' ' + res.conflicts[0]?.conflict}))
await s.close()
