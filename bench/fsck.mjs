// fsck on BENCH_N (default 100,000) signed records with evidence and supersedes edges, votes and
// retractions, stamped over 90 days (thousands of sync buckets): wall time and CPU of
// `steme fsck --json`, medians of BENCH_RUNS (default 3) processes; with BENCH_BASELINE=<another
// build's bin/run.js>, that build by turns with this one. With STEME_BENCH_PG_URL (or --pg, which
// starts a throwaway cluster with scripts/pg-test-server.sh) the same records on PostgreSQL too.
// Figures are printed, never asserted (CPU is the steme process's, not the server's). Needs
// `npm run build` first (npm run bench:fsck does it).
import {execFileSync, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {BIN, CACHE, ROOT, STORE_TAG, cli, fmt, median, freePort} from './lib.mjs'
import {rng} from './rng.mjs'

const N = Number(process.env.BENCH_N ?? 100_000)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const SPAN_MS = 90 * 86_400_000
/**
 * Another build's bin/run.js (BENCH_BASELINE) to time too, run by turns with this one so both
 * see the same load: before-and-after figures on a shared machine.
 */
const BUILDS = [...(process.env.BENCH_BASELINE ? [['baseline', process.env.BENCH_BASELINE]] : []), ['this build', BIN]]

const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href)

/** The records as NDJSON, cached: every later record may cite earlier ones, as derived facts do. */
async function generate() {
  const file = join(CACHE, `fsck-${N}-v1.ndjson`)
  if (existsSync(file)) return file
  const {keyPairFromSeed} = await dist('core/sign.js')
  const {seal, recordLine} = await dist('core/seal.js')
  const {initHash} = await dist('core/hash.js')
  const {formatHlc} = await dist('core/hlc.js')
  await initHash()
  const keys = Array.from({length: 20}, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(i + 1)))
  const rnd = rng(7)
  const end = Date.now() - 86_400_000
  const ids = []
  const byAgent = keys.map(() => [])
  const lines = []
  for (let i = 0; i < N; i++) {
    const k = i % keys.length
    const key = keys[k]
    const hlc = formatHlc({wall: Math.floor(end - SPAN_MS + (SPAN_MS * i) / N), counter: 0})
    const pick = () => ids[Math.floor(rnd() * ids.length)]
    const roll = rnd()
    let body
    if (ids.length && roll < 0.05) body = {kind: 'vote', target: pick(), weight: rnd() < 0.8 ? 1 : -1}
    else if (ids.length && roll < 0.06) body = {kind: 'retract', target: pick(), reason: 'bench'}
    else {
      body = {kind: 'assertion', subject: `item:${Math.floor(rnd() * (N / 10))}`, predicate: ['price', 'status', 'owner'][i % 3], value: Math.round(rnd() * 10000) / 10, confidence: Math.round(rnd() * 100) / 100, source: `src:${Math.floor(rnd() * 200)}`}
      if (ids.length && roll < 0.3) body.evidence = [...new Set(Array.from({length: 1 + Math.floor(rnd() * 3)}, pick))]
      if (byAgent[k].length && roll > 0.97) body.supersedes = [byAgent[k][byAgent[k].length - 1]]
    }
    const {record, canonical} = seal({v: 1, agent: key.publicHex, hlc, ...body}, key)
    ids.push(record.id)
    if (body.kind === 'assertion') byAgent[k].push(record.id)
    lines.push(recordLine(canonical, record.id, record.sig))
  }
  writeFileSync(file, lines.join('\n') + '\n')
  return file
}

function must(r, what) {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr}`)
  return r
}

/** Wall time and CPU (user + system, every thread, from /usr/bin/time when there is one) of one `steme fsck --json`. */
function runFsck(bin, store) {
  const out = join(home, 'time.txt')
  const args = [bin, 'fsck', '--json', '--store', store]
  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
  const t = performance.now()
  const r = timeBin
    ? spawnSync(timeBin, ['-f', '%U %S', '-o', out, process.execPath, ...args], {encoding: 'utf8', maxBuffer: 1 << 30})
    : spawnSync(process.execPath, args, {encoding: 'utf8', maxBuffer: 1 << 30})
  const ms = performance.now() - t
  const cpu = timeBin ? readFileSync(out, 'utf8').trim().split('\n').pop().split(' ').reduce((a, b) => a + Number(b) * 1000, 0) : undefined
  return {ms, cpu, result: JSON.parse(r.stdout)}
}

/**
 * Median wall time and CPU of fsck on a store, per build, the builds taking turns (wall time
 * alone says little on a busy machine).
 */
function timeFsck(name, store) {
  const runs = BUILDS.map(() => [])
  for (let i = 0; i < RUNS; i++) BUILDS.forEach(([, bin], b) => runs[b].push(runFsck(bin, store)))
  for (const [b, [build]] of BUILDS.entries()) {
    const rs = runs[b]
    const cpus = rs.map((r) => r.cpu).filter((c) => c !== undefined)
    rows.push([`${name}, ${build}`, {ms: median(rs.map((r) => r.ms)), times: rs.map((r) => r.ms), cpu: cpus.length ? median(cpus) : undefined, cpus, result: rs[rs.length - 1].result}])
  }
}

/**
 * The derived-table check alone, in this process (what fsck adds after its scan): median wall
 * and CPU of RUNS calls. CPU is this process's; for PostgreSQL the work is the server's.
 */
async function timeCheck(name, open) {
  const store = await open()
  if (!store.derivedProblems) return void (await store.close())
  const walls = []
  const cpus = []
  let found
  try {
    for (let i = 0; i < RUNS; i++) {
      const c0 = process.cpuUsage()
      const t = performance.now()
      found = await store.derivedProblems()
      walls.push(performance.now() - t)
      const c = process.cpuUsage(c0)
      cpus.push((c.user + c.system) / 1000)
    }
  } finally {
    await store.close()
  }
  checks.push(`${name.padEnd(24)} wall ${fmt(median(walls))} ms (${walls.map((w) => fmt(w)).join(', ')}), CPU here ${fmt(median(cpus))} ms; ${found.length} problems`)
}
const checks = []

const file = await generate()
const home = mkdtempSync(join(tmpdir(), 'steme-bench-fsck-'))
const env = {XDG_CONFIG_HOME: join(home, 'config')}
const rows = []
try {
  const storeDir = join(CACHE, `fsck-${N}-${STORE_TAG}`)
  const duck = join(storeDir, '.steme', 'store.duckdb')
  if (!existsSync(duck)) {
    mkdirSync(storeDir, {recursive: true})
    must(cli(['init'], {cwd: storeDir, env}), 'init')
    must(cli(['ingest', file, '--store', duck], {env}), 'ingest')
  }
  timeFsck('DuckDB', duck)
  const {DuckDBStore} = await dist('adapters/duckdb/index.js')
  await timeCheck('DuckDB', () => DuckDBStore.open(duck, {readOnly: true, threads: 1}))

  const script = join(ROOT, 'scripts', 'pg-test-server.sh')
  const pgDir = join(tmpdir(), `steme-bench-fsck-pg-${process.pid}`)
  let pgUrl = process.env.STEME_BENCH_PG_URL
  const started = !pgUrl && process.argv.includes('--pg')
  if (started) pgUrl = execFileSync('sh', [script, 'start', pgDir, String(await freePort())], {encoding: 'utf8'}).trim()
  try {
    if (pgUrl) {
      const url = `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=bench_fsck_${process.pid}`
      must(cli(['init', '--store', url], {env}), 'init postgres')
      must(cli(['ingest', file, '--store', url], {env}), 'ingest postgres')
      timeFsck('PostgreSQL', url)
      const {PostgresStore} = await dist('adapters/postgres/index.js')
      await timeCheck('PostgreSQL', () => PostgresStore.open(url, {readOnly: true}))
      const {default: pg} = await import('pg')
      const admin = new pg.Client({connectionString: pgUrl})
      await admin.connect()
      await admin.query(`DROP SCHEMA bench_fsck_${process.pid} CASCADE`)
      await admin.end()
    }
  } finally {
    if (started) execFileSync('sh', [script, 'stop', pgDir])
  }
  console.log(`steme fsck on ${fmt(N)} records, median of ${RUNS} processes (load average ${(await import('node:os')).loadavg()[0].toFixed(1)})`)
  for (const [name, r] of rows) {
    const found = r.result.derived ? `, ${r.result.derived.length} derived-table problems` : ''
    const s = (ms) => fmt(ms / 1000, 2)
    const cpu = r.cpu === undefined ? '' : `, CPU ${s(r.cpu)} s (${r.cpus.map(s).join(', ')})`
    console.log(`${name.padEnd(24)} wall ${s(r.ms)} s (${r.times.map(s).join(', ')})${cpu}; ${fmt(r.result.checked)} checked, ${r.result.bad.length} bad${found}`)
  }
  if (checks.length) console.log(`\nthe derived-table check alone (refs of no record, sync_buckets against the records), in-process, median of ${RUNS}:\n${checks.join('\n')}`)
} finally {
  rmSync(home, {recursive: true, force: true})
}
