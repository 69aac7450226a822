// Load generator for bench/serve.mjs, run as its own process so it does not share the daemon's event loop.
// query <url> <token> <subjects> <seconds> <connections> [seed]: autocannon over random subjects.
// write <url> <token> <file> <batch> <concurrency>: post a signed NDJSON file in batches.
import {readFileSync} from 'node:fs'
import autocannon from 'autocannon'
import {rng} from './rng.mjs'

const [mode, url, token, ...rest] = process.argv.slice(2)
const auth = {authorization: `Bearer ${token}`}

if (mode === 'query') {
  const [subjects, seconds, connections, seed = 12345] = rest.map(Number)
  const rnd = rng(seed)
  const next = () => Math.floor(rnd() * subjects)
  const r = await autocannon({
    url,
    connections,
    duration: seconds,
    headers: auth,
    requests: [{method: 'GET', setupRequest: (req) => ({...req, path: `/v1/query?subject=item:${next()}`})}],
  })
  console.log(JSON.stringify({rps: r.requests.average, total: r.requests.total, p50: r.latency.p50, p97_5: r.latency.p97_5, p99: r.latency.p99, max: r.latency.max, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts}))
} else if (mode === 'write') {
  const [file, batchArg, concArg] = rest
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean)
  const batch = Number(batchArg)
  const bodies = []
  for (let i = 0; i < lines.length; i += batch) bodies.push(lines.slice(i, i + batch).join('\n') + '\n')
  let next = 0
  let added = 0
  let rejected = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({length: Number(concArg)}, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]
        const res = await fetch(`${url}/v1/records?detail=counts`, {method: 'POST', headers: {...auth, 'content-type': 'application/x-ndjson'}, body})
        const j = await res.json()
        if (res.status !== 200) throw new Error(`POST /v1/records: ${res.status} ${JSON.stringify(j).slice(0, 300)}`)
        added += j.added
        rejected += j.rejected
      }
    }),
  )
  const secs = (performance.now() - t0) / 1000
  console.log(JSON.stringify({added, rejected, secs, rate: added / secs}))
} else {
  throw new Error(`unknown mode ${mode}`)
}
