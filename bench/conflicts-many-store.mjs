// A store of many small contested pairs for `steme conflicts` without --limit: N subjects (default
// 300,000), one predicate each, every one with two or three rival values from distinct agents.
// usage: node bench/conflicts-many-store.mjs [out] [subjects]   (run `npm run build` first)
import {mkdirSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {STORE_TAG, recordKit} from './lib.mjs'

const {DuckDBStore, blake3Hex, canonicalBody, formatHlc, keyPairFromSeed} = await recordKit()

const dir = join(import.meta.dirname, '../.bench')
mkdirSync(dir, {recursive: true})
const [outArg, nArg] = process.argv.slice(2)
const N = Number(nArg ?? 300_000)
const out = outArg ?? join(dir, `conflicts-many-${N}-${STORE_TAG}.duckdb`)
rmSync(out, {force: true})
rmSync(out + '.wal', {force: true})
const agents = Array.from({length: 16}, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(60 + i)).publicHex)
// Adapters never verify signatures: signing the records would only time Ed25519.
const SIG = '0'.repeat(128)
const store = await DuckDBStore.open(out, {create: true})
let buf = []
let k = 0
for (let s = 0; s < N; s++) {
  const rivals = 2 + (s % 2)
  for (let j = 0; j < rivals; j++) {
    const body = {v: 1, kind: 'assertion', agent: agents[(s + j) % 16], hlc: formatHlc({wall: 1_750_000_000_000 + k++, counter: 0}), confidence: 0.5 + ((s * 7 + j * 3) % 5) / 10, subject: `bench:s${s}`, predicate: 'p', value: `v${j}`}
    const canonical = canonicalBody(body)
    buf.push({record: {...body, id: blake3Hex(canonical), sig: SIG}, canonical})
  }
  if (buf.length >= 50_000) {
    await store.insert(buf)
    buf = []
  }
}
if (buf.length) await store.insert(buf)
await store.close()
console.log(out)
