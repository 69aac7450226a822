// A copy of the 1M-record lens store (bench/lenses.mjs builds it) with supersession added, for
// bench/conflicts.mjs: per filler subject, one of its assertions is superseded by its own agent
// within the pair (every 5th subject), by its own agent from another subject (every 5th, offset
// 1), by another agent from another subject (every 20th, offset 2), or by its own agent from
// another subject with that superseder then retracted (every 20th, offset 3).
// usage: node bench/conflicts-supersede-store.mjs [lens store] [out]   (run `npm run build` first)
import {copyFileSync, existsSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {STORE_TAG, recordKit} from './lib.mjs'

const {DuckDBStore, blake3Hex, canonicalBody, formatHlc, keyPairFromSeed} = await recordKit()

const dir = join(import.meta.dirname, '../.bench')
const [from = join(dir, `lenses-1000000-${STORE_TAG}.duckdb`), to = join(dir, `conflicts-supersede-1000000-${STORE_TAG}.duckdb`)] = process.argv.slice(2)
if (!existsSync(from)) throw new Error(`${from} does not exist: run npm run bench:lenses first to build it`)
rmSync(to, {force: true})
rmSync(to + '.wal', {force: true})
copyFileSync(from, to)
const store = await DuckDBStore.open(to)
const SIG = '0'.repeat(128)
const make = (body) => {
  const canonical = canonicalBody(body)
  return {record: {...body, id: blake3Hex(canonical), sig: SIG}, canonical}
}
// Later than anything in the lens store.
let wall = Number.parseInt((await store.maxHlc()).slice(0, 16), 16) + 1000
const hlc = () => formatHlc({wall: ++wall, counter: 0})
const counts = {inPair: 0, crossOwn: 0, crossOther: 0, crossRetracted: 0}
let buf = []
for (let k = 0; ; k++) {
  const cands = await store.assertions(`bench:s${k}`)
  if (!cands.length) break
  const a = cands[k % cands.length]
  const other = cands.find((c) => c.agent !== a.agent)?.agent ?? a.agent
  const sup = (fields, agent = a.agent) => make({v: 1, kind: 'assertion', agent, hlc: hlc(), confidence: 1, subject: a.subject, predicate: a.predicate, value: 99, supersedes: [a.id], ...fields})
  if (k % 5 === 0) {
    buf.push(sup({}))
    counts.inPair++
  } else if (k % 5 === 1) {
    buf.push(sup({subject: `bench:moved:${k}`, predicate: 'q'}))
    counts.crossOwn++
  } else if (k % 20 === 2) {
    buf.push(sup({subject: `bench:moved:${k}`, predicate: 'q'}, other))
    counts.crossOther++
  } else if (k % 20 === 3) {
    const s = sup({subject: `bench:moved:${k}`, predicate: 'q'})
    buf.push(s, make({v: 1, kind: 'retract', agent: a.agent, hlc: hlc(), target: s.record.id}))
    counts.crossRetracted++
  }
  if (buf.length >= 10_000) {
    await store.insert(buf)
    buf = []
  }
}
if (buf.length) await store.insert(buf)
await store.close()
console.log(JSON.stringify({store: to, ...counts}))
