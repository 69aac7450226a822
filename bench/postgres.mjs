// PostgreSQL next to DuckDB in one run: ingest rate through Store.insert and query p95 on BENCH_N
// (default 1,000,000) signed records. Figures are printed, never asserted. Uses the server in
// STEME_BENCH_PG_URL, else starts a throwaway cluster with scripts/pg-test-server.sh (durable
// defaults: fsync and synchronous_commit on). Needs `npm run build` first (npm run bench does it).
import {execFileSync} from 'node:child_process'
import {createReadStream, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {pathToFileURL} from 'node:url'
import {ROOT, dirSize, fmt, generate, median, mib, pct, freePort} from './lib.mjs'

const N = Number(process.env.BENCH_N ?? 1_000_000)
const BATCH = Number(process.env.BENCH_BATCH ?? 4096) // ingest's chunk size: what `steme ingest` hands the store
const QUERIES = 600
const WARMUP = 100
const PG_SETTINGS = '-c shared_buffers=512MB -c max_wal_size=4GB'

const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href)
const {DuckDBStore} = await dist('adapters/duckdb/index.js')
const {PostgresStore} = await dist('adapters/postgres/index.js')
const {queryOp} = await dist('ops/query.js')
const {DEFAULT_CONFIG} = await dist('config.js')
const {rootFingerprint} = await dist('sync/reconcile.js').catch(() => ({}))
const {LocalView} = await dist('sync/view.js').catch(() => ({}))

// recordLine() appends ,"id":"<64 hex>","sig":"<128 hex>"} to the canonical body minus its }.
const SUFFIX = ',"id":"'.length + 64 + '","sig":"'.length + 128 + '"}'.length

/** The records of `file` in batches, parsed outside the timed region (generated here, so trusted). */
async function* batches(file) {
  let batch = []
  for await (const line of createInterface({input: createReadStream(file), crlfDelay: Infinity})) {
    if (!line) continue
    batch.push({record: JSON.parse(line), canonical: line.slice(0, line.length - SUFFIX) + '}'})
    if (batch.length === BATCH) {
      yield batch
      batch = []
    }
  }
  if (batch.length) yield batch
}

async function ingest(store, file) {
  let ms = 0
  let added = 0
  for await (const b of batches(file)) {
    const t = performance.now()
    added += (await store.insert(b)).added
    ms += performance.now() - t
  }
  return {added, ms, rate: added / (ms / 1000)}
}

async function queries(store) {
  const subjects = Math.max(1, Math.round(N / 10))
  const times = []
  let cands = 0
  for (let i = 0; i < QUERIES + WARMUP; i++) {
    const t = performance.now()
    const r = await queryOp({store, config: DEFAULT_CONFIG}, {subject: `item:${(i * 7919) % subjects}`})
    times.push(performance.now() - t)
    cands += r.candidates.length
  }
  const warm = times.slice(WARMUP)
  return {p50: median(warm), p95: pct(warm, 95), candidates: cands / times.length}
}

const root = async (store) => (LocalView ? rootFingerprint(await LocalView.load(store)) : undefined)

const row = (name, duck, pg, note = '') => console.log(`${name.padEnd(44)} ${String(duck).padStart(16)} ${String(pg).padStart(16)}  ${note}`)

const file = await generate({n: N, perSubject: 10, signed: true})
const home = mkdtempSync(join(tmpdir(), 'steme-bench-pg-'))
const pgDir = join(tmpdir(), `steme-bench-pgdata-${process.pid}`)
let pgUrl = process.env.STEME_BENCH_PG_URL
const script = join(ROOT, 'scripts', 'pg-test-server.sh')
try {
  if (!pgUrl) {
    pgUrl = execFileSync('sh', [script, 'start', pgDir, String(await freePort())], {encoding: 'utf8', env: {...process.env, PG_OPTS: PG_SETTINGS}}).trim()
  }
  const pgStoreUrl = `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=bench_${process.pid}`

  // DuckDB first, then PostgreSQL, on the same batches.
  const duckPath = join(home, 'store.duckdb')
  let duck = await DuckDBStore.open(duckPath, {create: true})
  const dIn = await ingest(duck, file)
  let t = performance.now()
  await duck.close()
  const dClose = performance.now() - t
  duck = await DuckDBStore.open(duckPath)
  const dQ = await queries(duck)
  const dRoot = await root(duck)
  await duck.close()
  const dBytes = dirSize(duckPath) + dirSize(`${duckPath}.wal`)

  let pgStore = await PostgresStore.open(pgStoreUrl, {create: true})
  const pIn = await ingest(pgStore, file)
  await pgStore.close()
  pgStore = await PostgresStore.open(pgStoreUrl)
  const pQ = await queries(pgStore)
  const pRoot = await root(pgStore)
  const pStats = await pgStore.stats()
  await pgStore.close()

  const {default: pg} = await import('pg')
  const admin = new pg.Client({connectionString: pgUrl})
  await admin.connect()
  const version = (await admin.query('SHOW server_version')).rows[0].server_version
  await admin.query(`DROP SCHEMA bench_${process.pid} CASCADE`)
  await admin.end()
  console.log(`PostgreSQL ${version} (${process.env.STEME_BENCH_PG_URL ? 'STEME_BENCH_PG_URL' : `throwaway cluster, ${PG_SETTINGS}`}); ${fmt(N)} records, batches of ${BATCH}\n`)
  row('', 'DuckDB', 'PostgreSQL')
  row('ingest through Store.insert, records/s', fmt(dIn.rate), fmt(pIn.rate), `PostgreSQL/DuckDB ${fmt(pIn.rate / dIn.rate, 2)} (goal >= 0.5) ${pIn.rate / dIn.rate >= 0.5 ? 'PASS' : 'MISS'}`)
  row('ingest incl. DuckDB close (checkpoint), rec/s', fmt(dIn.added / ((dIn.ms + dClose) / 1000)), fmt(pIn.rate), 'PostgreSQL commits are durable per batch')
  row(`resolve one subject (~${fmt(pQ.candidates, 1)} candidates) p50`, `${fmt(dQ.p50, 2)} ms`, `${fmt(pQ.p50, 2)} ms`)
  row('resolve one subject p95', `${fmt(dQ.p95, 2)} ms`, `${fmt(pQ.p95, 2)} ms`, `goal < 10 ms ${pQ.p95 < 10 ? 'PASS' : 'MISS'}`)
  row('store size', mib(dBytes), mib(pStats.bytes), 'PostgreSQL: tables + indexes + TOAST')
  if (dRoot && pRoot) row('root sync fingerprint equal', '', dRoot.fingerprint === pRoot.fingerprint && dRoot.count === pRoot.count ? 'yes' : 'NO')
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({n: N, batch: BATCH, postgres: version, duckdb: {ingest: dIn.rate, closeMs: dClose, ...dQ, bytes: dBytes}, pg: {ingest: pIn.rate, ...pQ, bytes: pStats.bytes}}))
  }
} finally {
  if (!process.env.STEME_BENCH_PG_URL) execFileSync('sh', [script, 'stop', pgDir])
  rmSync(home, {recursive: true, force: true})
}
