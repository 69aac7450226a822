// `npm run bench:load [-- --seconds N]`: steme serve under sustained mixed load from separate
// processes — queries (two processes), batched signed writes, a `steme pull`/`steme push` loop
// from another store, and an SSE subscriber — for LOAD_SECONDS (default 300). The first half
// re-posts records the store has (store constant), the second posts new ones (store growing).
// Prints errors and p50/p99 per kind, the daemon's RSS, heap and event-loop lag over time, and
// whether it exits on the first SIGTERM afterwards. Printed, never asserted; exit 1 on errors.
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {availableParallelism, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {BIN, cli, fmt, generate, mib} from './lib.mjs'

const flag = process.argv.indexOf('--seconds')
const SECONDS = Number(flag >= 0 ? process.argv[flag + 1] : (process.env.LOAD_SECONDS ?? 300))
const N = Number(process.env.LOAD_N ?? 100_000)
const SAMPLE_MS = Math.max(1000, Math.min(10_000, (SECONDS * 1000) / 30))

console.log(`steme serve load: ${fmt(SECONDS)} s on a ${fmt(N)}-record store, node ${process.version}, ${availableParallelism()} cores, load average at start ${loadavg()[0].toFixed(1)}\n`)
const home = mkdtempSync(join(tmpdir(), 'steme-load-'))
const env = {...process.env, XDG_CONFIG_HOME: join(home, 'xdg'), HOME: home}
delete env.STEME_STORE
delete env.STEME_REMOTE
delete env.STEME_TOKEN
const A = join(home, 'a', '.steme')
const B = join(home, 'b', '.steme')
const must = (r, what) => {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`)
  return r
}

let daemon
try {
  const seed = await generate({n: N, perSubject: 10, signed: true})
  must(cli(['init', '--dir', join(home, 'a')], {env}), 'init a')
  must(cli(['init', '--dir', join(home, 'b')], {env}), 'init b')
  must(cli(['ingest', seed, '--store', A], {env}), 'seed ingest')
  must(cli(['ingest', '-', '--store', B], {env, input: Array.from({length: 500}, (_, i) => JSON.stringify({subject: `peer:${i}`, predicate: 'p', value: i})).join('\n')}), 'peer ingest')
  const token = must(cli(['serve', 'token', 'create', '--role', 'write', '--store', A], {env}), 'token').stdout.trim()

  const state = join(A, 'state', 'serve.json')
  const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--rate-limit', '0', '--log-level', 'warn', '--store', A], {env, stdio: ['ignore', 'pipe', 'pipe']})
  // The daemon logs JSON lines to stdout when not on a TTY.
  let daemonLog = ''
  proc.stdout.on('data', (d) => (daemonLog += d))
  proc.stderr.on('data', (d) => (daemonLog += d))
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r({code, signal})))
  daemon = proc
  for (let i = 0; i < 600 && !existsSync(state); i++) await new Promise((r) => setTimeout(r, 50))
  if (!existsSync(state)) throw new Error(`daemon did not start: ${daemonLog}`)
  const {url} = JSON.parse(readFileSync(state, 'utf8'))
  const auth = {authorization: `Bearer ${token}`}

  const metric = (text, name) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN)
  const samples = []
  const t0 = Date.now()
  const sample = async () => {
    try {
      const [m, s] = await Promise.all([fetch(`${url}/metrics`, {headers: auth}).then((r) => r.text()), fetch(`${url}/v1/stats`, {headers: auth}).then((r) => r.json())])
      samples.push({t: (Date.now() - t0) / 1000, rss: metric(m, 'steme_process_resident_memory_bytes'), heap: metric(m, 'steme_nodejs_heap_size_used_bytes'), lagP99: metric(m, 'steme_nodejs_eventloop_lag_p99_seconds'), lagMax: metric(m, 'steme_nodejs_eventloop_lag_max_seconds'), records: s.records})
    } catch (e) {
      samples.push({t: (Date.now() - t0) / 1000, error: e.message})
    }
  }
  await sample()
  const timer = setInterval(sample, SAMPLE_MS)

  const worker = (...args) =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, [join(import.meta.dirname, 'load-worker.mjs'), ...args.map(String)], {env, stdio: ['ignore', 'pipe', 'pipe']})
      let out = ''
      let err = ''
      p.stdout.on('data', (d) => (out += d))
      p.stderr.on('data', (d) => (err += d))
      p.on('exit', (code) => {
        if (err) console.error(`[${args[0]}] ${err.trim().split('\n').slice(0, 5).join('\n')}`)
        try {
          resolve(JSON.parse(out.trim().split('\n').pop()))
        } catch {
          resolve({[`${args[0]} process`]: {n: 1, errors: 1, p50: NaN, p99: NaN, max: NaN, exit: code}})
        }
      })
    })
  const subjects = Math.round(N / 10)
  const results = await Promise.all([
    worker('query', url, token, SECONDS, subjects),
    worker('query', url, token, SECONDS, subjects),
    worker('write', url, token, SECONDS, SECONDS / 2),
    worker('sync', url, token, SECONDS, B),
    worker('sse', url, token, SECONDS),
  ])
  clearInterval(timer)
  await sample()

  // The first SIGTERM after the load must be enough.
  const tTerm = performance.now()
  proc.kill('SIGTERM')
  const first = await Promise.race([exited, new Promise((r) => setTimeout(() => r(undefined), 20_000))])
  const termMs = performance.now() - tTerm
  if (!first) proc.kill('SIGKILL')
  daemon = undefined

  const kinds = {}
  for (const r of results) {
    for (const [k, v] of Object.entries(r)) {
      const into = (kinds[k] ??= {n: 0, errors: 0, p50: [], p99: [], max: 0, events: 0})
      into.n += v.n
      into.errors += v.errors
      into.p50.push(v.p50)
      into.p99.push(v.p99)
      into.max = Math.max(into.max, v.max)
      into.events += v.events ?? 0
    }
  }
  const pad = (s, n, right) => (right ? String(s).padStart(n) : String(s).padEnd(n))
  console.log(`${pad('kind', 22)} ${pad('requests', 9, 1)} ${pad('errors', 7, 1)} ${pad('p50 ms', 9, 1)} ${pad('p99 ms', 9, 1)} ${pad('max ms', 9, 1)}`)
  let errors = 0
  for (const [k, v] of Object.entries(kinds)) {
    errors += v.errors
    const worst = (xs) => fmt(Math.max(...xs), 1)
    console.log(`${pad(k, 22)} ${pad(fmt(v.n), 9, 1)} ${pad(v.errors, 7, 1)} ${pad(worst(v.p50), 9, 1)} ${pad(worst(v.p99), 9, 1)} ${pad(fmt(v.max, 1), 9, 1)}${v.events ? `  (${fmt(v.events)} events received)` : ''}`)
  }
  const sampleErrors = samples.filter((s) => s.error)
  console.log(`\n(p50/p99 per kind: the worse of the processes running it; sync kinds time a whole \`steme pull|push\` process)`)
  console.log(`\n${pad('t s', 6, 1)} ${pad('phase', 9)} ${pad('records', 9, 1)} ${pad('RSS', 11, 1)} ${pad('heap used', 11, 1)} ${pad('loop lag p99', 13, 1)} ${pad('lag max', 9, 1)}`)
  for (const s of samples.filter((x) => !x.error)) {
    console.log(`${pad(fmt(s.t), 6, 1)} ${pad(s.t < SECONDS / 2 ? 'constant' : 'growing', 9)} ${pad(fmt(s.records), 9, 1)} ${pad(mib(s.rss), 11, 1)} ${pad(mib(s.heap), 11, 1)} ${pad(fmt(s.lagP99 * 1000, 1) + ' ms', 13, 1)} ${pad(fmt(s.lagMax * 1000, 0) + ' ms', 9, 1)}`)
  }
  const ok = samples.filter((x) => !x.error)
  for (const phase of ['constant', 'growing']) {
    const ps = ok.filter((s) => (phase === 'constant' ? s.t < SECONDS / 2 : s.t >= SECONDS / 2))
    if (ps.length < 2) continue
    const f = (k) => `start ${mib(ps[0][k])}, end ${mib(ps.at(-1)[k])}, max ${mib(Math.max(...ps.map((s) => s[k])))}`
    console.log(`\n${phase} store (${fmt(ps[0].records)} -> ${fmt(ps.at(-1).records)} records): RSS ${f('rss')}; heap ${f('heap')}`)
  }
  console.log(`\nSIGTERM after the load: ${first ? `exited on the first signal in ${fmt(termMs)} ms (code ${first.code})` : 'did NOT exit within 20 s of the first SIGTERM'}`)
  const logged = daemonLog.split('\n').filter((l) => /"level":(50|60)/.test(l))
  if (logged.length) console.log(`the daemon logged ${logged.length} errors; the first:\n${logged.slice(0, 3).map((l) => l.slice(0, 1500)).join('\n')}`)
  console.log(`errors: ${errors}${sampleErrors.length ? `, metric samples failed: ${sampleErrors.length}` : ''}; load average at end ${loadavg()[0].toFixed(1)}`)
  if (errors || sampleErrors.length || !first) process.exitCode = 1
} finally {
  daemon?.kill('SIGKILL')
  rmSync(home, {recursive: true, force: true})
}
