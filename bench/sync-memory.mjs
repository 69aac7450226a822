// Sync memory benchmark: peak resident memory (and CPU) of `steme pull` into an empty store, and of
// the serving `steme sync-serve --http`, for a store of BENCH_SYNC_MEM_N records (default 200,000).
// Over a path remote one process holds both stores; over HTTP each side is its own process.
// Needs GNU time (/usr/bin/time) for the pulling process's figures.
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {loadavg} from 'node:os'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {BIN, CACHE, STORE_TAG, fmt, generate, median} from './lib.mjs'

const N = Number(process.env.BENCH_SYNC_MEM_N ?? 200_000)
const RUNS = Number(process.env.BENCH_SYNC_MEM_RUNS ?? 1)
const home = join(CACHE, 'sync-memory-home')
mkdirSync(home, {recursive: true})
const env = {...process.env, HOME: home, XDG_CONFIG_HOME: join(home, 'xdg')}
const log = (s) => process.stderr.write(s + '\n')

const steme = (args) => {
  const r = spawnSync(process.execPath, [BIN, ...args], {env, encoding: 'utf8', maxBuffer: 1 << 28})
  if (r.status !== 0) throw new Error(`steme ${args.join(' ')} failed (${r.status}): ${r.stderr}`)
  return r.stdout
}

async function sourceStore() {
  const dir = join(CACHE, `sync-memory-src-${N}-${STORE_TAG}`)
  if (existsSync(join(dir, 'ok'))) return dir
  const file = await generate({n: N})
  rmSync(dir, {recursive: true, force: true})
  log(`building a ${fmt(N)}-record store...`)
  steme(['init', '--dir', dir])
  steme(['ingest', file, '--store', join(dir, '.steme')])
  writeFileSync(join(dir, 'ok'), '')
  return dir
}

function emptyStore() {
  const dir = join(CACHE, 'sync-memory-client')
  rmSync(dir, {recursive: true, force: true})
  steme(['init', '--dir', dir])
  return dir
}

/** `steme pull <remote>` into an empty store under GNU time: peak RSS (MiB), CPU and wall seconds. */
function timedPull(remote) {
  const client = emptyStore()
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, BIN, 'pull', remote, '--store', join(client, '.steme')], {env, encoding: 'utf8', maxBuffer: 1 << 28})
  if (r.status !== 0) throw new Error(`pull failed (${r.status}): ${r.stderr}`)
  const field = (name) => Number(new RegExp(`${name}[^:]*: ([0-9.:]+)`).exec(r.stderr)?.[1] ?? NaN)
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr)
  return {
    rssMiB: field('Maximum resident set size') / 1024,
    cpuS: field('User time') + field('System time'),
    wallS: wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN,
  }
}

/** The serving process's peak RSS (MiB) and CPU seconds, from /proc (Linux). */
function procFigures(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const raw = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = raw.slice(raw.lastIndexOf(')') + 2).split(' ')
  const tick = Number(spawnSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}).stdout.trim() || 100)
  return {rssMiB: Number(/VmHWM:\s+(\d+)/.exec(status)[1]) / 1024, cpuS: (Number(stat[11]) + Number(stat[12])) / tick}
}

async function overHttp(src) {
  const server = spawn(process.execPath, [BIN, 'sync-serve', '--store', join(src, '.steme'), '--http', '0'], {env, stdio: ['ignore', 'pipe', 'inherit']})
  const url = await new Promise((resolve, reject) => {
    createInterface({input: server.stdout}).once('line', resolve)
    server.once('exit', (code) => reject(new Error(`sync-serve exited (${code})`)))
  })
  try {
    const client = timedPull(url.trim())
    return {client, server: procFigures(server.pid)}
  } finally {
    server.kill('SIGTERM')
  }
}

const src = await sourceStore()
const rows = []
for (let i = 0; i < RUNS; i++) {
  log(`run ${i + 1}: pull over path...`)
  rows.push({transport: 'path', ...timedPull(src)})
  log(`run ${i + 1}: pull over HTTP...`)
  const h = await overHttp(src)
  rows.push({transport: 'http', ...h.client, serverRssMiB: h.server.rssMiB, serverCpuS: h.server.cpuS})
}
console.log(`\nsync memory: pull of ${fmt(N)} records into an empty DuckDB store; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; ${RUNS} run(s), medians\n`)
console.log('transport  pull peak RSS  pull CPU s  pull wall s  server peak RSS  server CPU s')
for (const t of ['path', 'http']) {
  const rs = rows.filter((r) => r.transport === t)
  const m = (k) => median(rs.map((r) => r[k]))
  const server = t === 'http' ? `${fmt(m('serverRssMiB'))} MiB`.padStart(15) + fmt(m('serverCpuS'), 1).padStart(14) : '(same process)'.padStart(15)
  console.log(`${t.padEnd(9)}${`${fmt(m('rssMiB'))} MiB`.padStart(15)}${fmt(m('cpuS'), 1).padStart(12)}${fmt(m('wallS'), 1).padStart(13)}  ${server}`)
}
