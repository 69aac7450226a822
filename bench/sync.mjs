// Sync benchmark: two DuckDB stores of ~1,000,000 records over loopback, path and SSH transports side by side.
// Reports round trips, bytes on the wire, bytes of the missing records, protocol overhead per difference, wall time.
import {copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {availableParallelism, loadavg} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {Worker} from 'node:worker_threads'
import {BIN, CACHE, ROOT, STORE_TAG, fmt} from './lib.mjs'
import {startSshd} from './sshd.mjs'

const N = Number(process.env.BENCH_SYNC_N ?? 1_000_000)
const SPAN_MS = 180 * 86_400_000
const END = Date.parse('2026-11-01T00:00:00Z')
const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href)
const {DuckDBStore} = await dist('adapters/duckdb/index.js')
const {MIGRATIONS} = await dist('adapters/duckdb/schema.js')
const {initHash} = await dist('core/hash.js')
const {Hlc} = await dist('core/hlc.js')
const {runSync} = await dist('sync/client.js')
const {openPathTransport} = await dist('sync/transports/path.js')
const {openSshTransport} = await dist('sync/transports/ssh.js')
await initHash()

const log = (s) => process.stderr.write(s + '\n')

async function generate() {
  const file = join(CACHE, `sync-${N}-v2.ndjson`)
  if (existsSync(file)) return readFileSync(file, 'utf8').split('\n').filter(Boolean)
  log(`generating ${fmt(N)} signed records over 180 days...`)
  const threads = availableParallelism()
  const per = Math.ceil(N / threads)
  const parts = await Promise.all(
    Array.from({length: threads}, (_, t) => {
      const w = new Worker(new URL('./sync-gen-worker.mjs', import.meta.url), {workerData: {from: t * per, to: Math.min(N, (t + 1) * per), n: N, spanMs: SPAN_MS, end: END, root: ROOT}})
      return new Promise((res, rej) => (w.once('message', res), w.once('error', rej)))
    }),
  )
  const lines = parts.flat()
  writeFileSync(file, lines.join('\n') + '\n')
  return lines
}

// recordLine() appends ,"id":"<64>","sig":"<128>"} to the canonical body: 210 characters.
const sealedOf = (line) => ({record: JSON.parse(line), canonical: line.slice(0, -210) + '}'})

async function baseStore(lines) {
  const dir = join(CACHE, `sync-base-${N}-${STORE_TAG}`)
  const db = join(dir, '.steme', 'store.duckdb')
  if (existsSync(db) && existsSync(join(dir, 'ok'))) return dir
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(join(dir, '.steme'), {recursive: true})
  log(`building the base store (${fmt(N)} records)...`)
  const store = await DuckDBStore.open(db, {create: true})
  for (let i = 0; i < lines.length; i += 20_000) await store.insert(lines.slice(i, i + 20_000).map(sealedOf))
  await store.close()
  writeFileSync(join(dir, 'ok'), '')
  return dir
}

/** A copy of the base store without the records at `drop` (indexes into `ids`, 32 bytes each), sync sums rebuilt. */
async function variant(base, name, ids, drop) {
  const dir = join(CACHE, `sync-run-${name}`)
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(join(dir, '.steme'), {recursive: true})
  copyFileSync(join(base, '.steme', 'store.duckdb'), join(dir, '.steme', 'store.duckdb'))
  if (drop.length) {
    const {DuckDBInstance} = await import('@duckdb/node-api')
    const inst = await DuckDBInstance.create(join(dir, '.steme', 'store.duckdb'))
    const c = await inst.connect()
    await c.run('CREATE TEMP TABLE gone (id BLOB)')
    const app = await c.createAppender('gone', 'main', 'temp')
    for (const i of drop) {
      app.appendBlob(ids.subarray(i * 32, i * 32 + 32))
      app.endRow()
    }
    app.flushSync()
    app.closeSync()
    await c.run('DELETE FROM records WHERE id IN (SELECT id FROM temp.main.gone)')
    await c.run('DELETE FROM sync_buckets')
    await c.run(MIGRATIONS[2][1])
    await c.run('CHECKPOINT')
    c.closeSync()
    inst.closeSync()
  }
  return dir
}

const deps = (store) => ({store, clock: new Hlc(undefined), saveClock: async () => {}, skewMs: 60_000})

async function run(scenario, transportName, clientDir, serverDir, sshd, mode = 'pull') {
  // End to end, as a `steme pull` would take: opening the local store and the remote (over a
  // path, opening the other store in this process; over SSH, connecting and the remote steme's
  // start, which happen inside the sync) are inside the time, and so is closing both.
  const started = performance.now()
  // CPU of this process during the sync alone (all its threads: the client, the verify workers
  // and, over path, the serving side), not the store copies around it; the SSH server's is not in it.
  const cpu0 = process.cpuUsage()
  const ru0 = process.resourceUsage()
  // In the order `steme pull` takes: over SSH it starts connecting before it opens the local
  // store (src/sync-command.ts); a path remote is opened after it.
  const ssh = transportName === 'ssh' ? openSshTransport('bench', {user: sshd.user, host: '127.0.0.1', port: sshd.port, path: serverDir}, {identities: [sshd.identity], knownHosts: sshd.knownHosts, remoteCmd: `${process.execPath} ${BIN}`, env: {HOME: CACHE}}) : undefined
  ssh?.connect()
  const store = await DuckDBStore.open(join(clientDir, '.steme', 'store.duckdb'))
  const t0 = ssh ?? (await openPathTransport('bench', serverDir))
  // BENCH_SYNC_TRACE=1: each request's start and end (ms since the case began) and sizes, on
  // stderr; the gaps between requests are the client's own time, the requests the server's
  // and the wire's.
  const trace = process.env.BENCH_SYNC_TRACE ? [] : undefined
  const t = trace
    ? {
        remote: t0.remote,
        connect: t0.connect?.bind(t0),
        close: () => t0.close(),
        async request(m) {
          const a = performance.now() - started
          const r = await t0.request(m)
          trace.push({a: Math.round(a), b: Math.round(performance.now() - started), out: m.length, in: r.length})
          return r
        },
      }
    : t0
  let s
  try {
    s = await runSync(deps(store), t, {mode})
  } finally {
    await t.close()
    await store.close()
  }
  const ms = performance.now() - started
  if (trace) {
    let prev = 0
    for (const x of trace) log(`  request ${x.a}-${x.b} ms (${x.b - x.a} ms waiting, ${x.a - prev} ms before it) out ${fmt(x.out)} B in ${fmt(x.in)} B`), (prev = x.b)
  }
  const cpu = process.cpuUsage(cpu0)
  const ru = process.resourceUsage()
  const sys = {userS: cpu.user / 1e6, sysS: cpu.system / 1e6, minorFaults: ru.minorPageFault - ru0.minorPageFault, volCtx: ru.voluntaryContextSwitches - ru0.voluntaryContextSwitches, involCtx: ru.involuntaryContextSwitches - ru0.involuntaryContextSwitches}
  const diffs = s.received + s.sent
  const wire = s.bytesIn + s.bytesOut
  const recordBytes = s.recordBytesIn + s.recordBytesOut
  return {scenario, transport: transportName, mode, diffs, added: s.local.added + s.remoteResult.added, rejected: s.local.rejected + s.remoteResult.rejected, rounds: s.rounds, wire, recordBytes, overheadPerDiff: diffs ? (wire - recordBytes) / diffs : wire - recordBytes, ms, perSec: diffs ? (diffs / ms) * 1000 : 0, cpu: sys, inStep: mode === 'sync' ? s.remoteRoot?.fingerprint === s.localRoot.fingerprint : undefined}
}

let lines = await generate()
const base = await baseStore(lines)
// Only the ids are kept (in one buffer): the path transport serves from this process, and a
// million strings left on its heap would make every garbage collection of the sync slower
// than in a real `steme pull`.
const ids = Buffer.alloc(lines.length * 32)
for (let i = 0; i < lines.length; i++) ids.write(lines[i].slice(-203, -139), i * 32, 'hex')
if (ids.toString('hex', 0, 32) !== JSON.parse(lines[0]).id) throw new Error('the id is not where recordLine() puts it')
lines = undefined
const sshd = await startSshd()
const results = []
const sshTrueMs = await sshBaseline(sshd)
const scattered = (k, salt = 0) => Array.from({length: k}, (_, j) => Math.floor(((j + 0.5) * N) / k + salt) % N)
const scenarios = [
  {name: 'identical', client: [], goal: '1 round trip'},
  {name: '1,000 scattered', client: scattered(1000, 17), goal: '<= 3 round trips, <= 200 B/diff'},
  {name: '1,000 newest missing', client: Array.from({length: 1000}, (_, j) => N - 1 - j), goal: '<= 2 round trips, <= 8 B/diff'},
  {name: '100,000 scattered', client: scattered(100_000, 3), goal: '>= 10,000 records/s'},
  {name: `push of ${fmt(Math.min(100_000, N / 2))}`, client: [], server: scattered(Math.min(100_000, N / 2), 5), mode: 'push', goal: '>= 10,000 records/s'},
  {name: '1,000 newest pushed', client: [], server: Array.from({length: 1000}, (_, j) => N - 1 - j), mode: 'push', goal: '<= 2 round trips, <= 8 B/diff'},
  {name: '1,000 both ways (sync)', client: scattered(500, 101), server: scattered(500, 211), mode: 'sync', goal: '(extra)'},
]
try {
  // BENCH_SYNC_ONLY=<prefix of a scenario name> runs just those.
  for (const sc of scenarios.filter((x) => !process.env.BENCH_SYNC_ONLY || x.name.startsWith(process.env.BENCH_SYNC_ONLY))) {
    for (const tn of (process.env.BENCH_SYNC_TRANSPORTS ?? 'path,ssh').split(',')) {
      const serverDir = sc.server ? await variant(base, 'server', ids, sc.server) : base
      const clientDir = await variant(base, 'client', ids, sc.client)
      log(`${sc.name} over ${tn}...`)
      const r = await run(sc.name, tn, clientDir, serverDir, sshd, sc.mode ?? 'pull')
      r.goal = sc.goal
      results.push(r)
      log(JSON.stringify(r))
    }
  }
  if (!process.env.BENCH_SYNC_ONLY || 'hot bucket'.startsWith(process.env.BENCH_SYNC_ONLY)) results.push(...(await hotBucket(sshd)))
} finally {
  sshd.stop()
}

/**
 * The fixed cost of any command over this sshd, measured in the same run: connect, log in, and run
 * `true` through the account's login shell (whose start-up files run for every SSH command, steme's
 * included). Median of five.
 */
async function sshBaseline(sshd) {
  const {Client} = await import('ssh2')
  const key = readFileSync(sshd.identity)
  // The host key this sshd was started with (its known_hosts line: name, type, base64).
  const hostKey = readFileSync(sshd.knownHosts, 'utf8').trim().split(' ')[2]
  const times = []
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now()
    await new Promise((resolve, reject) => {
      const c = new Client()
      c.on('ready', () => c.exec('true', (err, ch) => (err ? reject(err) : ch.on('close', () => (c.end(), resolve())).resume())))
      c.on('error', reject)
      c.connect({host: '127.0.0.1', port: sshd.port, username: sshd.user, privateKey: key, hostVerifier: (k) => k.toString('base64') === hostKey})
    })
    times.push(performance.now() - t0)
  }
  return times.sort((a, b) => a - b)[2]
}

/** 100,000 records stamped within one minute (one bulk ingest): every range lands in one or two buckets. */
async function hotBucket(sshd) {
  const {seal} = await dist('core/seal.js')
  const {keyPairFromSeed} = await dist('core/sign.js')
  const {formatHlc} = await dist('core/hlc.js')
  const key = keyPairFromSeed(new Uint8Array(32).fill(9))
  const n = 100_000
  const start = END - 120_000
  log('hot bucket: signing 100,000 records...')
  const recs = Array.from({length: n}, (_, i) => seal({v: 1, kind: 'assertion', agent: key.publicHex, hlc: formatHlc({wall: start + Math.floor((i * 60_000) / n), counter: i % 1000}), subject: `hot:${i}`, predicate: 'p', value: i, confidence: 0.5}, key))
  const build = async (name, keep) => {
    const dir = join(CACHE, `sync-hot-${name}`)
    rmSync(dir, {recursive: true, force: true})
    mkdirSync(join(dir, '.steme'), {recursive: true})
    const st = await DuckDBStore.open(join(dir, '.steme', 'store.duckdb'), {create: true})
    await st.insert(recs.filter((_, i) => keep(i)))
    await st.close()
    return dir
  }
  const server = await build('server', () => true)
  const out = []
  for (const tn of (process.env.BENCH_SYNC_TRANSPORTS ?? 'path,ssh').split(',')) {
    const client = await build('client', (i) => i % 100 !== 7)
    log(`hot bucket over ${tn}...`)
    const r = await run('hot bucket, 1,000 missing', tn, client, server, sshd)
    r.goal = '(extra: 100k records in one minute)'
    out.push(r)
    log(JSON.stringify(r))
  }
  return out
}
const pad = (s, w) => String(s).padEnd(w)
const lpad = (s, w) => String(s).padStart(w)
console.log(`\nsync benchmark: ${fmt(N)} records per store (stamped over 180 days), DuckDB, loopback; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${availableParallelism()} cores\n`)
console.log(`${pad('scenario', 26)}${pad('transport', 10)}${lpad('diffs', 8)}${lpad('rounds', 7)}${lpad('wire B', 12)}${lpad('record B', 12)}${lpad('overhead B/diff', 16)}${lpad('wall s', 8)}${lpad('rec/s', 9)}${lpad('cpu s', 8)}  goal`)
for (const r of results) {
  console.log(`${pad(r.scenario, 26)}${pad(r.transport, 10)}${lpad(fmt(r.diffs), 8)}${lpad(r.rounds, 7)}${lpad(fmt(r.wire), 12)}${lpad(fmt(r.recordBytes), 12)}${lpad(fmt(r.overheadPerDiff, 1), 16)}${lpad(fmt(r.ms / 1000, 2), 8)}${lpad(fmt(r.perSec), 9)}${lpad(fmt(r.cpu.userS + r.cpu.sysS, 2), 8)}  ${r.goal}${r.inStep === undefined ? '' : r.inStep ? ' [in step]' : ' [NOT in step]'}`)
}
if (results.some((r) => r.transport === 'ssh')) {
  console.log(`\nSSH baseline, same run: logging in to this sshd and running \`true\` takes ${fmt(sshTrueMs / 1000, 2)} s (median of 5): the handshake and the account's`)
  console.log(`login shell start-up, paid by every SSH command before steme starts; the ssh rows above include it once.`)
}
writeFileSync(join(CACHE, 'sync-results.json'), JSON.stringify({sshTrueMs, results}, null, 2))
