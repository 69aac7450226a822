// Shared benchmark helpers: data generation (cached under .bench/), timing, medians, process runs.
import {createServer} from 'node:net'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, createWriteStream, statSync, readdirSync} from 'node:fs'
import {once} from 'node:events'
import {availableParallelism} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {Worker} from 'node:worker_threads'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const CACHE = join(ROOT, '.bench')
export const BIN = join(ROOT, 'bin', 'run.js')
mkdirSync(CACHE, {recursive: true})
/**
 * In the names of cached stores: bumped when the stored format changes (s3: the subject column
 * uncompressed; s4: DuckDB's 1.5 storage format; s5: id and sig uncompressed), so old ones are rebuilt.
 */
export const STORE_TAG = 's5'

/** A module of the build (`npm run build` first), by its path under dist/. */
export const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href)

/** What the store-building benches write records with: the DuckDB store, hashing (ready), sealing, stamps and keys. */
export async function recordKit() {
  const [{DuckDBStore}, {initHash, blake3Hex}, {canonicalBody}, {formatHlc}, {keyPairFromSeed}] = await Promise.all(
    ['adapters/duckdb/index.js', 'core/hash.js', 'core/seal.js', 'core/hlc.js', 'core/sign.js'].map(dist),
  )
  await initHash()
  return {DuckDBStore, blake3Hex, canonicalBody, formatHlc, keyPairFromSeed}
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
export const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
}
export const fmt = (n, d = 0) => n.toLocaleString('en-US', {maximumFractionDigits: d, minimumFractionDigits: d})
export const mib = (bytes) => `${fmt(bytes / 1048576, 1)} MiB`

/** Run the CLI as a process; returns wall ms and the result. */
export function cli(args, {env = {}, input, cwd = ROOT} = {}) {
  const t = performance.now()
  const r = spawnSync(process.execPath, [BIN, ...args], {cwd, env: {...process.env, ...env}, input, encoding: 'utf8', maxBuffer: 1 << 30})
  return {ms: performance.now() - t, code: r.status, stdout: r.stdout, stderr: r.stderr}
}

/**
 * Generate `n` assertions as NDJSON (signed, or plain facts), `perSubject` candidates per
 * subject on average, from `agents` keys. Cached: the same arguments reuse the same file.
 */
export async function generate({n, perSubject = 10, agents = 50, signed = true, name}) {
  const file = join(CACHE, name ?? `${signed ? 'signed' : 'facts'}-${n}-${perSubject}-v2.ndjson`)
  if (existsSync(file) && statSync(file).size > 0) return file
  const threads = availableParallelism()
  const per = Math.ceil(n / threads)
  const tmp = `${file}.tmp`
  const out = createWriteStream(tmp)
  const parts = await Promise.all(
    Array.from({length: threads}, (_, t) => {
      const w = new Worker(new URL('./gen-worker.mjs', import.meta.url), {
        workerData: {from: t * per, to: Math.min(n, (t + 1) * per), subjects: Math.max(1, Math.round(n / perSubject)), agents, signed, root: ROOT},
      })
      return new Promise((resolve, reject) => {
        w.once('message', resolve)
        w.once('error', reject)
      })
    }),
  )
  for (const p of parts) if (!out.write(p)) await once(out, 'drain')
  out.end()
  await once(out, 'finish')
  const {renameSync} = await import('node:fs')
  renameSync(tmp, file)
  return file
}

export function dirSize(path) {
  if (!existsSync(path)) return 0
  const st = statSync(path)
  if (!st.isDirectory()) return st.size
  return readdirSync(path).reduce((t, f) => t + dirSize(join(path, f)), 0)
}

/** A TCP port free on 127.0.0.1 now, for a server the bench starts (PostgreSQL). */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.once('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address()
      srv.close(() => res(port))
    })
  })
}
