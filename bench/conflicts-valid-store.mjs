// A moderate store for bench/conflicts.mjs with and without --valid-at: 4,000 subjects of 50
// assertions (one predicate each, 35 agreeing, 15 spread over four values, so every pair is
// contested), a fifth of them with a valid range (from 2020, from 2024, until 2024, 2022 to
// 2025), and 1% superseding an earlier assertion of another subject.
// usage: node bench/conflicts-valid-store.mjs [out]   (run `npm run build` first)
import {mkdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {STORE_TAG, recordKit} from './lib.mjs'

const {DuckDBStore, blake3Hex, canonicalBody, formatHlc, keyPairFromSeed} = await recordKit()

const dir = join(import.meta.dirname, '../.bench')
mkdirSync(dir, {recursive: true})
const [out = join(dir, `conflicts-valid-200000-${STORE_TAG}.duckdb`)] = process.argv.slice(2)
rmSync(out, {force: true})
rmSync(out + '.wal', {force: true})
const agents = Array.from({length: 64}, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(20 + i)).publicHex)
// Adapters never verify signatures: signing 200,000 records would only time Ed25519.
const SIG = '0'.repeat(128)
const make = (body) => {
  const canonical = canonicalBody(body)
  return {record: {...body, id: blake3Hex(canonical), sig: SIG}, canonical}
}
const store = await DuckDBStore.open(out, {create: true})
const ranges = [{from: '2020-01-01'}, {from: '2024-01-01'}, {to: '2024-01-01'}, {from: '2022-01-01', to: '2025-01-01'}]
let buf = []
const earlier = []
for (let i = 0; i < 200_000; i++) {
  const body = {v: 1, kind: 'assertion', agent: agents[i % 64], hlc: formatHlc({wall: 1_750_000_000_000 + i, counter: 0}), confidence: 1, subject: `bench:s${Math.floor(i / 50)}`, predicate: `p${Math.floor(i / 50) % 10}`, value: i % 50 < 35 ? 1 : i % 4, source: `src:${i % 40}`}
  if (i % 5 === 0) body.valid = ranges[(i / 5) % 4]
  if (i % 100 === 7 && earlier.length) body.supersedes = [earlier[(i * 7919) % earlier.length]]
  const s = make(body)
  if (i % 13 === 0) earlier.push(s.record.id)
  buf.push(s)
  if (buf.length >= 50_000) {
    await store.insert(buf)
    buf = []
  }
}
if (buf.length) await store.insert(buf)
await store.close()
console.log(out)
