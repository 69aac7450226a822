// One load process for bench/load.mjs (its own process, so it does not share the daemon's event loop).
// Modes, each running until <seconds> have passed, then printing one JSON line of per-kind latencies:
//   query <url> <token> <seconds> <subjects>   queries, log pages, records by id, stats, and now and then conflicts
//   write <url> <token> <seconds> <phaseSecs>  batched signed writes: re-posting known records first (store constant), then fresh ones (store growing)
//   sync <url> <token> <seconds> <storeDir>    `steme pull` then `steme push` from another store, in a loop
//   sse <url> <token> <seconds>                one /v1/events subscriber, counting events
import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {BIN, ROOT, pct} from './lib.mjs'
import {rng} from './rng.mjs'

const [mode, url, token, secondsArg, extra] = process.argv.slice(2)
const until = Date.now() + Number(secondsArg) * 1000
const auth = {authorization: `Bearer ${token}`}
const kinds = new Map()
const rnd = rng(process.pid)

function tally(kind, ms, ok) {
  let k = kinds.get(kind)
  if (!k) kinds.set(kind, (k = {lat: [], errors: 0, samples: []}))
  k.lat.push(ms)
  if (!ok) k.errors++
}

async function timed(kind, fn) {
  const t = performance.now()
  let ok = false
  try {
    ok = await fn()
  } catch (e) {
    if (!timed.reported) console.error(`${kind}: ${e.message}`)
    timed.reported = true
  }
  tally(kind, performance.now() - t, ok)
}

async function get(path, expectStatus = [200]) {
  const res = await fetch(url + path, {headers: auth})
  await res.arrayBuffer()
  if (!expectStatus.includes(res.status)) throw new Error(`GET ${path}: ${res.status}`)
  return true
}

if (mode === 'query') {
  const subjects = Number(extra)
  const ids = []
  const log = await fetch(`${url}/v1/log?limit=500`, {headers: auth}).then((r) => r.json())
  for (const r of log.records) ids.push(r.id)
  let n = 0
  while (Date.now() < until) {
    n++
    const s = `item:${Math.floor(rnd() * subjects)}`
    await timed('query', () => get(`/v1/query?subject=${encodeURIComponent(s)}`))
    if (n % 4 === 0) await timed('log', () => get(`/v1/log?subject=${encodeURIComponent(s)}&limit=100`))
    if (n % 4 === 1) await timed('record', () => get(`/v1/records/${ids[Math.floor(rnd() * ids.length)]}`))
    if (n % 20 === 2) await timed('stats', () => get('/v1/stats'))
    if (n % 200 === 3) await timed('conflicts', () => get('/v1/conflicts?limit=20'))
  }
} else if (mode === 'write') {
  const phaseSecs = Number(extra)
  const dist = (p) => import(pathToFileURL(join(ROOT, 'dist', p)).href)
  const {keyPairFromSeed} = await dist('core/sign.js')
  const {seal, recordLine} = await dist('core/seal.js')
  const {initHash} = await dist('core/hash.js')
  const {formatHlc} = await dist('core/hlc.js')
  await initHash()
  const key = keyPairFromSeed(new Uint8Array(32).fill(200))
  let i = 0
  const batch = (n) => {
    const lines = []
    for (let j = 0; j < n; j++, i++) {
      const {record, canonical} = seal({v: 1, kind: 'assertion', agent: key.publicHex, hlc: formatHlc({wall: Date.now(), counter: j}), subject: `load:${i % 5000}`, predicate: 'n', value: i, confidence: 0.5}, key)
      lines.push(recordLine(canonical, record.id, record.sig))
    }
    return lines.join('\n') + '\n'
  }
  const known = batch(200)
  const start = Date.now()
  while (Date.now() < until) {
    const growing = Date.now() - start >= phaseSecs * 1000
    const body = growing ? batch(200) : known
    await timed(growing ? 'write (new)' : 'write (present)', async () => {
      const res = await fetch(`${url}/v1/records?detail=counts`, {method: 'POST', headers: {...auth, 'content-type': 'application/x-ndjson'}, body})
      const j = await res.json()
      if (res.status !== 200 || j.rejected) throw new Error(`POST /v1/records: ${res.status} ${JSON.stringify(j).slice(0, 200)}`)
      return true
    })
  }
} else if (mode === 'sync') {
  const storeDir = extra
  const env = {...process.env, STEME_TOKEN: token}
  const steme = (args) =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, [BIN, ...args, '--store', storeDir, '--json'], {env, stdio: ['ignore', 'ignore', 'pipe']})
      let err = ''
      p.stderr.on('data', (d) => (err += d))
      p.on('exit', (code) => {
        if (code !== 0) console.error(`steme ${args.join(' ')}: ${err.slice(0, 300)}`)
        resolve(code === 0)
      })
    })
  while (Date.now() < until) {
    await timed('sync pull (process)', () => steme(['pull', url]))
    await timed('sync push (process)', () => steme(['push', url]))
  }
} else if (mode === 'sse') {
  const ctrl = new AbortController()
  let events = 0
  const t = performance.now()
  let ok = true
  try {
    const res = await fetch(`${url}/v1/events`, {headers: auth, signal: ctrl.signal})
    if (res.status !== 200) throw new Error(`GET /v1/events: ${res.status}`)
    const reader = res.body.getReader()
    const dec = new TextDecoder()
    setTimeout(() => ctrl.abort(), until - Date.now())
    let buf = ''
    for (;;) {
      const {value, done} = await reader.read()
      if (done) break
      buf += dec.decode(value, {stream: true})
      let k
      while ((k = buf.indexOf('\n\n')) >= 0) {
        if (buf.slice(0, k).includes('event: record')) events++
        buf = buf.slice(k + 2)
      }
    }
    // The stream ending before the time is up is an error: the daemon dropped the subscriber.
    if (Date.now() < until - 1000) ok = false
  } catch (e) {
    if (e.name !== 'AbortError') {
      console.error(`sse: ${e.message}`)
      ok = false
    }
  }
  tally('sse subscriber', performance.now() - t, ok)
  kinds.get('sse subscriber').events = events
} else {
  throw new Error(`unknown mode ${mode}`)
}

const out = {}
for (const [kind, k] of kinds) out[kind] = {n: k.lat.length, errors: k.errors, p50: pct(k.lat, 50), p99: pct(k.lat, 99), max: Math.max(...k.lat), events: k.events}
console.log(JSON.stringify(out))
