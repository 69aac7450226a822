/**
 * bench/lenses.mjs — lens figures on a 1M-record DuckDB store:
 *   - resolution p50/p95 per lens for a subject with 50 candidates (the lens alone, and the whole
 *     query: store reads + context + lens);
 *   - the source-reliability pass: convergence over the whole Book dataset, and cold training
 *     over one predicate of the 1M store;
 *   - a retraction cascade touching 100,000+ dependents.
 * The store is built once into .bench/ and reused. Filler records carry real ids but a dummy
 * signature (adapters never verify; signing 1M records would only time Ed25519). Prints figures;
 * `--json` prints them as one JSON object.
 */
import {existsSync, mkdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {STORE_TAG, dist, recordKit} from './lib.mjs'

const imp = dist
const {DuckDBStore, blake3Hex, canonicalBody, formatHlc, keyPairFromSeed} = await recordKit()
const {DEFAULT_CONFIG} = await imp('config.js')
const {queryOp} = await imp('ops/query.js')
const {gatherContext} = await imp('ops/context.js')
const {cascadeEffect} = await imp('ops/retract.js')
const {learnReliability, claimsOf} = await imp('ops/reliability.js')
const {compile, resolve, LENS_NAMES} = await imp('lenses/registry.js')
const {discoverTruth} = await imp('lenses/truth-discovery.js')

const asJson = process.argv.includes('--json')
const log = (s) => (asJson ? process.stderr : process.stdout).write(s + '\n')

const TOTAL = Number(process.env.STEME_BENCH_RECORDS ?? 1_000_000)
const FAN = 10
const DEPTH = 5 // 1 + 10 + ... + 10^5 = 111,111 assertions in the derivation tree
const TARGET = 'bench:target'
const dir = join(import.meta.dirname, '../.bench')
const path = join(dir, `lenses-${TOTAL}-${STORE_TAG}.duckdb`)
const self = keyPairFromSeed(new Uint8Array(32).fill(9)).publicHex
const agents = Array.from({length: 64}, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(20 + i)).publicHex)
const SIG = '0'.repeat(128)
const BASE = 1_750_000_000_000

function make(body) {
  const canonical = canonicalBody(body)
  return {record: {...body, id: blake3Hex(canonical), sig: SIG}, canonical}
}

async function build() {
  mkdirSync(dir, {recursive: true})
  rmSync(path, {force: true})
  rmSync(path + '.wal', {force: true})
  const store = await DuckDBStore.open(path, {create: true})
  let n = 0
  let buf = []
  const flush = async (force) => {
    if (buf.length >= 50_000 || (force && buf.length)) {
      await store.insert(buf)
      buf = []
      if (!asJson) process.stderr.write(`\rbuilding ${n.toLocaleString()} / ${TOTAL.toLocaleString()}`)
    }
  }
  const push = async (body) => {
    buf.push(make(body))
    n++
    await flush(false)
  }
  const a = (i, fields) => ({v: 1, kind: 'assertion', agent: agents[i % agents.length], hlc: formatHlc({wall: BASE + n, counter: 0}), confidence: 1, ...fields})
  // The subject under test: 50 candidates, 50 witnesses, 6 values, with votes on some.
  const targetIds = []
  for (let i = 0; i < 50; i++) {
    const body = a(i, {subject: TARGET, predicate: 'p0', value: i % 6, source: `src:${i % 40}`, confidence: 0.5 + (i % 5) / 10})
    targetIds.push(make(body).record.id)
    await push(body)
  }
  for (let i = 0; i < 20; i++) await push({v: 1, kind: 'vote', agent: agents[i], hlc: formatHlc({wall: BASE + n, counter: 0}), target: targetIds[i % 7], weight: i % 3 === 0 ? -1 : 1})
  for (let i = 0; i < 8; i++) await push({v: 1, kind: 'trust', agent: i === 0 ? self : agents[i - 1], hlc: formatHlc({wall: BASE + n, counter: 0}), target: agents[i], weight: 0.9})
  await push({v: 1, kind: 'epoch', agent: self, hlc: formatHlc({wall: BASE + n, counter: 0}), name: 'bench', starts: new Date(BASE).toISOString()})
  // The derivation tree under one source; every 100th derived node has a second, standing justification.
  const standing = make(a(1, {subject: 'bench:standing', predicate: 'q', value: 0, source: 'bench:other'}))
  buf.push(standing)
  n++
  let level = [make(a(0, {subject: 'bench:root', predicate: 'q', value: 0, source: 'bench:retract-me'}))]
  buf.push(level[0])
  n++
  let dependents = 0
  for (let d = 1; d <= DEPTH; d++) {
    const next = []
    for (const parent of level) {
      for (let k = 0; k < FAN; k++) {
        const evidence = dependents % 100 === 99 ? [parent.record.id, standing.record.id] : [parent.record.id]
        const s = make(a(k, {subject: `bench:derived:${dependents % 5000}`, predicate: 'q', value: dependents, evidence}))
        buf.push(s)
        next.push(s)
        n++
        dependents++
        await flush(false)
      }
    }
    level = next
  }
  // Filler: subjects of 50 candidates each over 10 predicates, 40 sources, mostly agreeing.
  let i = 0
  while (n < TOTAL) {
    const subject = `bench:s${Math.floor(i / 50)}`
    await push(a(i, {subject, predicate: `p${Math.floor(i / 50) % 10}`, value: (i % 50) < 35 ? 1 : i % 4, source: `src:${i % 40}`}))
    i++
  }
  await flush(true)
  if (!asJson) process.stderr.write('\n')
  await store.setMeta('bench', 'complete')
  await store.close()
  return dependents
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}

const t0 = performance.now()
let built = false
if (!existsSync(path)) {
  await build()
  built = true
} else {
  const s = await DuckDBStore.open(path)
  const ok = (await s.getMeta('bench')) === 'complete'
  await s.close()
  if (!ok) {
    await build()
    built = true
  }
}
const buildMs = performance.now() - t0
// Queries open the store as `steme query` and the daemon do: one DuckDB thread (lookups run
// fastest so). The cascade below reopens it as `steme retract` does.
let store = await DuckDBStore.open(path, {threads: 1})
const stats = await store.stats()
log(`store: ${stats.records.toLocaleString()} records (${built ? `built in ${(buildMs / 1000).toFixed(1)} s` : 'reused'}), ${path}`)
let deps = {store, config: {...DEFAULT_CONFIG, raw: {lenses: {authority: {order: ['src:3', 'src:1*']}}}}, self}

const out = {records: stats.records, lenses: {}, reliability: {}, cascade: {}}
// 500 timed queries per lens: with 200, one burst of slow queries (a major GC, say) moved the p95.
const RUNS = Number(process.env.STEME_BENCH_RUNS ?? 500)
// Cold reliability training over the target's predicate (every subject with it), then cached.
await store.setMeta('reliability:v2:p0', '')
const tr = performance.now()
const learned = await learnReliability(deps, 'p0')
out.reliability.coldTrainingMs = performance.now() - tr
out.reliability.trainingIterations = learned.iterations

const cands = await store.assertions(TARGET, 'p0')
const ctx = await gatherContext(deps, cands, {now: Date.now(), self})
// Subjects asked once: filler subject bench:s<k> has 50 candidates, all of predicate p<k % 10>.
// Each lens gets its own DISTINCT of them (none asked by another lens or by the warm-up); a p95
// over 100 of them was the 5th slowest query, which one burst of machine noise could decide.
const DISTINCT = Number(process.env.STEME_BENCH_DISTINCT ?? 500)
const distinctSubject = (li, j) => 1 + li * DISTINCT + j
log(`target subject: ${cands.length} candidates with votes; lens alone = resolve() on gathered context; query = queryOp (store reads + context + lens) on the target, ${RUNS} times after a warm-up; distinct subjects = queryOp once each on ${DISTINCT} other 50-candidate subjects; timed in 5 passes over all the lenses`)
// A daemon's steady state: after its first queries a long-lived reader builds its in-memory
// prefilter of referenced ids in the background (a scan of the store), and V8 optimises the
// query path over the first few hundred calls (on a background thread, which on 2 cores
// competes with the timed queries). Warm up through every lens, untimed, and let that settle.
// A one-shot `steme query` process is timed by `npm run bench` (e).
// The reliability lens reads a learned table per predicate, trained once and cached in store meta
// (as a daemon has it after its first question about the predicate): train the other nine here.
for (let p = 1; p < 10; p++) await learnReliability(deps, `p${p}`)
for (let round = 0; round < 3; round++) for (const lens of LENS_NAMES) for (let i = 0; i < 10; i++) await queryOp(deps, {subject: TARGET, predicate: 'p0', lens})
await new Promise((r) => setTimeout(r, 2000))
// Timed in ROUNDS passes over all the lenses, each pass taking its share of every lens's queries:
// on a shared machine a burst of noise (another tenant, a major GC) then lands on every lens a
// little instead of deciding one lens's p95.
const ROUNDS = 5
const times = Object.fromEntries(LENS_NAMES.map((lens) => [lens, {alone: [], whole: [], distinct: []}]))
// Warm-up (not timed): the first calls of a lens compile its code paths.
for (const lens of LENS_NAMES) for (let i = 0; i < 50; i++) await queryOp(deps, {subject: TARGET, predicate: 'p0', lens})
for (let round = 0; round < ROUNDS; round++) {
  for (const [li, lens] of LENS_NAMES.entries()) {
    const {alone, whole, distinct} = times[lens]
    const expr = compile(lens, ctx.params)
    const c = lens === 'reliability' ? {...ctx, reliability: learned.table} : ctx
    for (let i = 0; i < RUNS / ROUNDS; i++) {
      const t = performance.now()
      resolve(expr, cands, c)
      alone.push(performance.now() - t)
    }
    for (let i = 0; i < RUNS / ROUNDS; i++) {
      const t = performance.now()
      await queryOp(deps, {subject: TARGET, predicate: 'p0', lens})
      whole.push(performance.now() - t)
    }
    // The same query over other 50-candidate subjects, each asked once and not asked by any other
    // lens: what a first question about a subject costs.
    for (let j = (round * DISTINCT) / ROUNDS; j < ((round + 1) * DISTINCT) / ROUNDS; j++) {
      const k = distinctSubject(li, j)
      const t = performance.now()
      await queryOp(deps, {subject: `bench:s${k}`, predicate: `p${k % 10}`, lens})
      distinct.push(performance.now() - t)
    }
  }
}
for (const lens of LENS_NAMES) {
  const {alone, whole, distinct} = times[lens]
  out.lenses[lens] = {lensP50: pct(alone, 50), lensP95: pct(alone, 95), queryP50: pct(whole, 50), queryP95: pct(whole, 95), distinctP50: pct(distinct, 50), distinctP95: pct(distinct, 95)}
  log(`${lens.padEnd(12)} lens p50 ${pct(alone, 50).toFixed(3)} ms  p95 ${pct(alone, 95).toFixed(3)} ms   query p50 ${pct(whole, 50).toFixed(2)} ms  p95 ${pct(whole, 95).toFixed(2)} ms   distinct subjects p50 ${pct(distinct, 50).toFixed(2)} ms  p95 ${pct(distinct, 95).toFixed(2)} ms  (goal p95 < 5 ms)`)
}
const worst = Math.max(...Object.values(out.lenses).flatMap((l) => [l.queryP95, l.distinctP95]))
log(`every lens, whole query p95 < 5 ms (worst ${worst.toFixed(2)} ms): ${worst < 5 ? 'PASS' : 'MISS'}`)
log(`reliability cold training over predicate p0 of the store: ${out.reliability.coldTrainingMs.toFixed(0)} ms, ${learned.iterations} iterations (cached in store meta afterwards)`)

// Convergence over the whole Book dataset.
const bookDir = process.env.STEME_BOOK_DIR ?? join(import.meta.dirname, '../../shared/datasets/book')
if (existsSync(join(bookDir, 'book.txt'))) {
  const {surnames} = await import('./book-authors.mjs')
  const recs = []
  for (const line of readFileSync(join(bookDir, 'book.txt'), 'utf8').split('\n')) {
    const [source, isbn, , authors = ''] = line.split('\t')
    const value = surnames(authors)
    if (value.length && source?.trim()) recs.push({subject: `isbn:${isbn.trim()}`, predicate: 'authors', source: source.trim(), agent: self, hlc: '0', id: String(recs.length), value})
  }
  const tb = performance.now()
  const r = discoverTruth(claimsOf(recs))
  out.reliability.bookConvergeMs = performance.now() - tb
  out.reliability.bookIterations = r.iterations
  log(`reliability convergence over the Book dataset (${recs.length} claims): ${out.reliability.bookConvergeMs.toFixed(0)} ms, ${r.iterations} iterations, converged=${r.converged}`)
} else log(`Book dataset not found at ${bookDir}; set STEME_BOOK_DIR`)

// The cascade: retracting the source under the derivation tree.
// Wall time, and this process's CPU time (DuckDB's threads included), which a busy machine inflates less.
const cpu = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
await store.close()
store = await DuckDBStore.open(path)
deps = {...deps, store}
const runs = []
for (let i = 0; i < 3; i++) {
  const tc = performance.now()
  const c0 = cpu()
  const effect = await cascadeEffect(deps, {sources: ['bench:retract-me']}, 'f'.repeat(64), self)
  runs.push({...effect, ms: performance.now() - tc, cpuMs: cpu() - c0})
}
const best = runs.sort((a, b) => a.ms - b.ms)[0]
out.cascade = {...best, runs: runs.map((r) => r.ms)}
log(`retraction cascade: ${best.direct} root, ${best.derived.toLocaleString()} dependents retracted, ${best.kept.toLocaleString()} kept by another justification: best of 3 ${best.ms.toFixed(0)} ms wall, ${best.cpuMs.toFixed(0)} ms CPU (store walk + truth maintenance)`)
await store.close()
if (asJson) process.stdout.write(JSON.stringify(out) + '\n')
