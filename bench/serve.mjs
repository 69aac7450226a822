// `npm run bench:serve`: steme serve under load from a separate process, printed, never asserted.
// Queries on a BENCH_N-record store (default 1,000,000; built once, cached under .bench/), and
// batched signed-record writes against `steme ingest` of the same records in the same run.
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {CACHE, BIN, ROOT, STORE_TAG, cli, fmt, generate, median} from './lib.mjs'

const N = Number(process.env.BENCH_N ?? 1_000_000)
const W = Number(process.env.BENCH_WRITES ?? 200_000)
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15)
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3)
const PARTS = (process.env.BENCH_PARTS ?? 'queries,writes').split(',')
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '8,16,32').split(',').map(Number)
// A fresh daemon reads its store cold (DuckDB's buffer pool and index nodes load on first
// touch); the warm-up brings it to the steady state a long-running team daemon is in.
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10)
const row = (name, value, goal = '') => console.log(`${name.padEnd(60)} ${String(value).padStart(16)}  ${goal}`)
const pass = (ok) => (ok ? 'PASS' : 'MISS')

console.log(`steme serve bench: ${fmt(N)}-record store, ${fmt(W)} writes, node ${process.version}, ${availableParallelism()} cores\n`)
const home = mkdtempSync(join(tmpdir(), 'steme-bench-serve-'))
const env = {...process.env, XDG_CONFIG_HOME: join(home, 'xdg'), HOME: home}
delete env.STEME_STORE
delete env.STEME_REMOTE

function must(r, what) {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`)
  return r
}

async function daemon(storeDir) {
  const state = join(storeDir, '.steme', 'state', 'serve.json')
  rmSync(state, {force: true})
  const token = must(cli(['serve', 'token', 'create', '--role', 'write', '--store', join(storeDir, '.steme')], {env}), 'token create').stdout.trim()
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--rate-limit', '0', '--log-level', 'warn', '--store', join(storeDir, '.steme')], {env, stdio: ['ignore', 'ignore', 'inherit']})
  const exited = new Promise((r) => proc.on('exit', r))
  // The daemon's CPU time (every thread, DuckDB's included), from /proc: per request it says
  // what a request costs even when other work on the machine stretches the wall-clock figures.
  const cpuMs = () => {
    try {
      const f = readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1].split(' ')
      return ((Number(f[11]) + Number(f[12])) * 1000) / 100
    } catch {
      return NaN
    }
  }
  for (let i = 0; i < 600 && !existsSync(state); i++) await new Promise((r) => setTimeout(r, 50))
  if (!existsSync(state)) throw new Error('daemon did not start')
  const {url} = JSON.parse(readFileSync(state, 'utf8'))
  return {
    url,
    token,
    cpuMs,
    async stop() {
      proc.kill('SIGTERM')
      await exited
    },
  }
}

const load = (...args) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bench', 'serve-load.mjs'), ...args.map(String)], {encoding: 'utf8', env, maxBuffer: 1 << 26})
  if (r.status !== 0) throw new Error(`load process failed: ${r.stderr}`)
  return JSON.parse(r.stdout.trim().split('\n').pop())
}

try {
  let t = performance.now()
  const signedFile = await generate({n: N, perSubject: 10, signed: true})
  const writesFile = await generate({n: W, perSubject: 3, agents: 20, signed: true, name: `serve-writes-${W}.ndjson`})
  console.log(`(data ready in ${fmt((performance.now() - t) / 1000, 1)} s)`)
  // The big store is built once and reused: a query benchmark does not change it.
  const big = join(CACHE, `serve-store-${N}-${STORE_TAG}`)
  const done = join(big, 'READY')
  if (!existsSync(done)) {
    rmSync(big, {recursive: true, force: true})
    t = performance.now()
    must(cli(['init', '--dir', big], {env}), 'init')
    must(cli(['ingest', signedFile, '--store', join(big, '.steme'), '--json'], {env}), 'ingest')
    writeFileSync(done, new Date().toISOString() + '\n')
    console.log(`(built the ${fmt(N)}-record store in ${fmt((performance.now() - t) / 1000, 1)} s, cached under .bench/)`)
  }
  console.log('')

  // Queries: a warm-up, then each connection count for SECONDS.
  if (PARTS.includes('queries')) {
  const d = await daemon(big)
  try {
    const subjects = Math.max(1, Math.round(N / 10))
    // Each run draws its own subjects (its own seed), so no run replays another's requests.
    load('query', d.url, d.token, subjects, WARMUP, 8, 1)
    const met = []
    for (const [i, c] of CONNECTIONS.entries()) {
      const cpu0 = d.cpuMs()
      const q = load('query', d.url, d.token, subjects, SECONDS, c, 2 + i)
      const cpu = (d.cpuMs() - cpu0) / q.total
      row(`GET /v1/query, ${c} connections: requests/s`, fmt(q.rps), 'goal >= 2,000/s ' + pass(q.rps >= 2000))
      row(`GET /v1/query, ${c} connections: latency p50 / p99 (ms)`, `${q.p50} / ${q.p99}`, 'goal p99 < 20 ms ' + pass(q.p99 < 20))
      row(`GET /v1/query, ${c} connections: daemon CPU per request`, `${fmt(cpu, 2)} ms`, `load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores`)
      if (q.non2xx || q.errors || q.timeouts) row(`  non-2xx / errors / timeouts`, `${q.non2xx} / ${q.errors} / ${q.timeouts}`)
      if (q.rps >= 2000 && q.p99 < 20 && !q.non2xx && !q.errors) met.push(c)
    }
    row('GET /v1/query: connection counts meeting both goals', met.length ? met.join(', ') : 'none', pass(met.length > 0))
  } finally {
    await d.stop()
  }
  }

  // Writes: the same signed records through `steme ingest` and through the daemon, each into an empty store.
  if (PARTS.includes('writes')) {
    // Alternate the two, REPEAT times each, and compare medians: on a shared machine one run says little.
    const batch = Number(process.env.BENCH_BATCH ?? 5000)
    const ingRates = []
    const postRates = []
    for (let r = 0; r < REPEAT; r++) {
      const a = join(home, `ingest-${r}`)
      must(cli(['init', '--dir', a], {env}), 'init')
      const ing = must(cli(['ingest', writesFile, '--store', join(a, '.steme'), '--json'], {env}), 'ingest')
      ingRates.push(JSON.parse(ing.stdout).added / (ing.ms / 1000))
      rmSync(a, {recursive: true, force: true})
      const b = join(home, `serve-${r}`)
      must(cli(['init', '--dir', b], {env}), 'init')
      const d2 = await daemon(b)
      try {
        const w = load('write', d2.url, d2.token, writesFile, batch, 2)
        if (w.added !== W) console.log(`(warning: ${w.added} added, ${w.rejected} rejected)`)
        postRates.push(w.rate)
      } finally {
        await d2.stop()
      }
      rmSync(b, {recursive: true, force: true})
    }
    const ingRate = median(ingRates)
    const postRate = median(postRates)
    row(`steme ingest of ${fmt(W)} signed records (process), median of ${REPEAT}`, `${fmt(ingRate)}/s`, `runs: ${ingRates.map((x) => fmt(x)).join(', ')}`)
    row(`POST /v1/records, batches of ${fmt(batch)}, 2 clients, median`, `${fmt(postRate)}/s`, `runs: ${postRates.map((x) => fmt(x)).join(', ')}`)
    row('  write rate through the daemon vs steme ingest', `${fmt((100 * postRate) / ingRate)}%`, `goal >= 80% ${pass(postRate >= 0.8 * ingRate)}`)
  }
} finally {
  rmSync(home, {recursive: true, force: true})
}
