// Generates a slice of sync benchmark records on a worker thread, stamped evenly over SPAN_MS (signing is the slow part).
import {parentPort, workerData} from 'node:worker_threads'
import {rng} from './rng.mjs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

const {from, to, n, spanMs, end, root} = workerData
const dist = (p) => import(pathToFileURL(join(root, 'dist', p)).href)
const {keyPairFromSeed} = await dist('core/sign.js')
const {seal, recordLine} = await dist('core/seal.js')
const {initHash} = await dist('core/hash.js')
const {formatHlc} = await dist('core/hlc.js')
await initHash()

const keys = Array.from({length: 50}, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(i + 1)))
const rnd = rng(Math.imul(from + 1, 2654435761))
const lines = []
for (let i = from; i < to; i++) {
  const key = keys[i % keys.length]
  const wall = Math.floor(end - spanMs + (spanMs * i) / n)
  const body = {
    v: 1,
    kind: 'assertion',
    agent: key.publicHex,
    hlc: formatHlc({wall, counter: 0}),
    subject: `item:${Math.floor(rnd() * (n / 10))}`,
    predicate: ['price', 'status', 'owner'][i % 3],
    value: Math.round(rnd() * 10000) / 10,
    confidence: Math.round(rnd() * 100) / 100,
    source: `src:${Math.floor(rnd() * 200)}`,
  }
  const {record, canonical} = seal(body, key)
  lines.push(recordLine(canonical, record.id, record.sig))
}
parentPort.postMessage(lines)
