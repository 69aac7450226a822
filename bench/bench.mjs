// `npm run bench`: the foundation figures of the Foundation issue, printed, never asserted.
// BENCH_N scales the record count (default 1,000,000). Later sections (lenses, PostgreSQL)
// run when their scripts are present. Figures are medians where repeated.
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {BIN, ROOT, cli, dirSize, fmt, generate, median, mib, pct} from './lib.mjs'

const N = Number(process.env.BENCH_N ?? 1_000_000)
const results = []
const row = (name, value, goal = '', ok = '') => {
  results.push({name, value, goal, ok})
  console.log(`${name.padEnd(58)} ${String(value).padStart(18)}  ${goal}${ok ? ` ${ok}` : ''}`)
}
const pass = (cond) => (cond ? 'PASS' : 'MISS')

console.log(`steme bench: ${fmt(N)} records, node ${process.version}, ${(await import('node:os')).availableParallelism()} cores\n`)
const home = mkdtempSync(join(tmpdir(), 'steme-bench-'))
const env = {XDG_CONFIG_HOME: join(home, 'xdg'), HOME: home}
try {
  let t = performance.now()
  const signedFile = await generate({n: N, perSubject: 10, signed: true})
  const factsFile = await generate({n: N, perSubject: 10, signed: false})
  console.log(`(data ready in ${fmt((performance.now() - t) / 1000, 1)} s, cached under .bench/)\n`)

  // (a) native verify rate with all cores: OpenSSL (node:crypto), and libsodium, which ingest
  // workers verify with. (b) is judged against the one ingest uses.
  const rate = (backend) => JSON.parse(spawnSync(process.execPath, [join(ROOT, 'bench', 'verify-rate.mjs'), '3', backend], {encoding: 'utf8'}).stdout)
  const openssl = rate('openssl')
  const vr = rate('libsodium')
  row(`(a) native Ed25519 verify, OpenSSL, ${openssl.threads} threads`, `${fmt(openssl.perSecond)}/s`)
  row(`(a) native Ed25519 verify, libsodium (ingest's), ${vr.threads} threads`, `${fmt(vr.perSecond)}/s`)

  // (b) steme ingest of signed records
  const storeB = join(home, 'b')
  cli(['init', '--dir', storeB], {env})
  const b = cli(['ingest', signedFile, '--store', join(storeB, '.steme'), '--json'], {env})
  if (b.code !== 0) throw new Error(`ingest failed: ${b.stderr}`)
  const bRes = JSON.parse(b.stdout)
  const bRate = bRes.added / (b.ms / 1000)
  row('(b) steme ingest, signed records (process, end to end)', `${fmt(bRate)}/s`, `ratio to (a) libsodium ${fmt(bRate / vr.perSecond, 2)} (goal >= 0.8)`, pass(bRate / vr.perSecond >= 0.8))
  row('(b) the same against (a) OpenSSL', '', `ratio ${fmt(bRate / openssl.perSecond, 2)}`)

  // (c) steme ingest of unsigned facts, signed locally
  const storeC = join(home, 'c')
  cli(['init', '--dir', storeC], {env})
  const c = cli(['ingest', factsFile, '--store', join(storeC, '.steme'), '--json'], {env})
  if (c.code !== 0) throw new Error(`ingest failed: ${c.stderr}`)
  const cRate = JSON.parse(c.stdout).added / (c.ms / 1000)
  row('(c) steme ingest, plain facts signed locally', `${fmt(cRate)}/s`, 'goal >= 30,000/s', pass(cRate >= 30_000))

  // (d) resolving one subject in-process on the store from (b)
  const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href)
  const {DuckDBStore} = await dist('adapters/duckdb/index.js')
  const {queryOp} = await dist('ops/query.js')
  const {DEFAULT_CONFIG} = await dist('config.js')
  // Opened as `steme query` and the daemon open it: one DuckDB thread (lookups run fastest so).
  const store = await DuckDBStore.open(join(storeB, '.steme', 'store.duckdb'), {threads: 1})
  const subjects = Math.max(1, Math.round(N / 10))
  const times = []
  let cands = 0
  let cpu0
  for (let i = 0; i < 600; i++) {
    if (i === 100) cpu0 = process.cpuUsage()
    const subject = `item:${(i * 7919) % subjects}`
    const t0 = performance.now()
    const r = await queryOp({store, config: DEFAULT_CONFIG}, {subject})
    times.push(performance.now() - t0)
    cands += r.candidates.length
  }
  const cpu = process.cpuUsage(cpu0)
  await store.close()
  const warm = times.slice(100)
  row(`(d) resolve one subject in-process (~${fmt(cands / times.length, 1)} candidates) p50`, `${fmt(median(warm), 2)} ms`)
  row('(d) resolve one subject in-process p95', `${fmt(pct(warm, 95), 2)} ms`, 'goal p95 < 5 ms', pass(pct(warm, 95) < 5))
  // Process CPU (DuckDB's threads included) per resolve: what it costs, however busy the machine.
  row('(d) CPU per resolve', `${fmt((cpu.user + cpu.system) / 1000 / warm.length, 2)} ms`, `load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`)

  // (e) steme query as a process vs an empty oclif command
  const runs = 9
  const q = []
  const empty = []
  for (let i = 0; i < runs; i++) {
    empty.push(cli(['--version'], {env}).ms)
    q.push(cli(['query', `item:${i * 13}`, '--store', join(storeB, '.steme')], {env}).ms)
  }
  row('(e) empty oclif command (steme --version), median', `${fmt(median(empty))} ms`)
  row('(e) steme query as a process on the 1M store, median', `${fmt(median(q))} ms`, `ratio ${fmt(median(q) / median(empty), 2)} (goal <= 2.0)`, pass(median(q) / median(empty) <= 2))

  // (f) store size on disk
  row('(f) store size on disk (signed store)', mib(dirSize(join(storeB, '.steme', 'store.duckdb'))), `${fmt(dirSize(join(storeB, '.steme', 'store.duckdb')) / N, 0)} B/record`)

  for (const extra of ['lenses.mjs', 'postgres.mjs']) {
    const path = join(ROOT, 'bench', extra)
    if (!existsSync(path)) continue
    console.log(`\n--- ${extra}`)
    const r = spawnSync(process.execPath, [path], {stdio: 'inherit', env: {...process.env, ...env, BENCH_N: String(N), BENCH_STORE: join(storeB, '.steme')}})
    if (r.status !== 0) console.log(`(${extra} exited ${r.status})`)
  }
} finally {
  rmSync(home, {recursive: true, force: true})
}
