// Generates a slice of benchmark records on a worker thread (signing is the slow part).
import {parentPort, workerData} from 'node:worker_threads'
import {rng} from './rng.mjs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'

const {from, to, subjects, agents, signed, root} = workerData
const dist = (p) => import(pathToFileURL(join(root, 'dist', p)).href)
const {keyPairFromSeed} = await dist('core/sign.js')
const {seal, recordLine} = await dist('core/seal.js')
const {initHash} = await dist('core/hash.js')
const {formatHlc} = await dist('core/hlc.js')
await initHash()

const keys = Array.from({length: agents}, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(i + 1)))
const rnd = rng(Math.imul(from + 1, 2654435761))
const base = Date.parse('2025-01-01T00:00:00Z')
const lines = []
for (let i = from; i < to; i++) {
  const subject = `item:${Math.floor(rnd() * subjects)}`
  const key = keys[Math.floor(rnd() * agents)]
  const body = {
    subject,
    predicate: ['price', 'status', 'owner'][i % 3],
    value: i % 3 === 0 ? Math.round(rnd() * 1000) / 10 : i % 3 === 1 ? ['active', 'retired', 'draft'][Math.floor(rnd() * 3)] : `team-${Math.floor(rnd() * 20)}`,
    confidence: Math.round(rnd() * 100) / 100,
    source: `src:${Math.floor(rnd() * 200)}`,
  }
  if (signed) {
    const full = {v: 1, kind: 'assertion', agent: key.publicHex, hlc: formatHlc({wall: base + i * 10, counter: 0}), ...body}
    const {record, canonical} = seal(full, key)
    lines.push(recordLine(canonical, record.id, record.sig))
  } else lines.push(JSON.stringify(body))
}
parentPort.postMessage(lines.join('\n') + '\n')
