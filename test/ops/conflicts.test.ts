/** `steme conflicts` reads only contested pairs from the store, and answers exactly what the whole-store pass answered. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {initHash} from '../../src/core/hash.js'
import type {Json} from '../../src/core/record.js'
import type {Sealed} from '../../src/core/seal.js'
import type {Store} from '../../src/core/store.js'
import {conflictsOp, type ConflictsInput} from '../../src/ops/conflicts.js'
import {assertion, record, stamp, testKey} from '../helpers/records.js'
// mulberry32 (seeded), so a failing store can be rebuilt from its seed.
import {prng as rng} from '../helpers/simnet.js'
import {referenceConflicts, validityStats} from './conflicts-reference.js'

const VALUES: Json[] = [1, 2, 0.5, 'a', 'b', true, [null], {value: 1}, {value: 2, a: [1]}, [1, 'value'], 'x,"value":1']

/** A store of a few agents disagreeing about few pairs, with evidence chains, supersession (within and across pairs), valid ranges, votes, retractions and trust. */
function randomStore(seed: number): {records: Sealed[]; hlcs: string[]} {
  const r = rng(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]
  const keys = [1, 2, 3, 4].map((n) => testKey(n))
  const out: Sealed[] = []
  const asserts: Sealed[] = []
  const votes: Sealed[] = []
  let wall = 1_700_000_000_000 + seed * 1000
  const next = () => stamp(++wall, 0)
  // Agent 1 is the store's own key; trust makes some others' retractions count.
  for (let i = 0; i < 3; i++) out.push(record({kind: 'trust', hlc: next(), target: pick(keys).publicHex, weight: pick([0.2, 0.9, 1])}, pick(keys)))
  const n = 60 + Math.floor(r() * 80)
  for (let i = 0; i < n; i++) {
    const key = pick(keys)
    const roll = r()
    if (roll < 0.6 || asserts.length < 3) {
      const fields: Parameters<typeof assertion>[0] = {subject: `s:${Math.floor(r() * 7)}`, predicate: pick(['p', 'q', 'r\u0000']), value: pick(VALUES), confidence: pick([0.1, 0.5, 0.9, 1]), hlc: next()}
      if (r() < 0.5) fields.source = pick(['src:a', 'src:b', 'src:c'])
      // Evidence mostly on earlier assertions, sometimes on a vote or on a record not stored (both can be retracted).
      if (r() < 0.3 && asserts.length) fields.evidence = [...new Set([pick(asserts).record.id, ...(r() < 0.3 ? [pick(asserts).record.id] : []), ...(r() < 0.3 && votes.length ? [pick(votes).record.id] : []), ...(r() < 0.3 ? ['ee'.repeat(32)] : [])])]
      if (r() < 0.1 && asserts.length) fields.evidence = [r() < 0.5 && votes.length ? pick(votes).record.id : 'ee'.repeat(32)]
      if (r() < 0.2) {
        const same = asserts.filter((a) => a.record.kind === 'assertion' && a.record.subject === fields.subject && a.record.predicate === fields.predicate)
        if (same.length) fields.supersedes = [pick(same).record.id]
      } else if (r() < 0.2 && asserts.length) {
        // `supersedes` names assertions, not pairs: any earlier one, of any agent.
        fields.supersedes = [pick(asserts).record.id]
      }
      // Values that held for a while, so a pair can be contested at one date and not at another,
      // and undated only where ranges overlap (one range ending where another starts does not).
      if (r() < 0.4) fields.valid = pick([{from: '2020-01-01'}, {from: '2024-01-01'}, {to: '2024-01-01'}, {from: '2022-01-01', to: '2025-01-01'}, {to: '2020-01-01'}, {from: '2024-01-01', to: '2024-01-01'}])
      // s:6 is a timeline: each value holds in its own slice of time, so mostly no conflict at all.
      if (fields.subject === 's:6') {
        const slice = Math.floor(r() * 4)
        fields.value = VALUES[slice]
        fields.valid = [{to: '2020-01-01'}, {from: '2020-01-01', to: '2022-01-01'}, {from: '2022-01-01', to: '2024-01-01'}, {from: '2024-01-01'}][slice]
      }
      const a = assertion(fields, key)
      asserts.push(a)
      out.push(a)
    } else if (roll < 0.8) {
      const v = record({kind: 'vote', hlc: next(), target: pick(asserts).record.id, weight: pick([1, -1, 0])}, key)
      votes.push(v)
      out.push(v)
    } else if (roll < 0.95) {
      const target = r() < 0.6 ? pick(asserts).record.id : r() < 0.7 && votes.length ? pick(votes).record.id : 'ee'.repeat(32)
      out.push(record({kind: 'retract', hlc: next(), target}, key))
    } else {
      out.push(record({kind: 'retract', hlc: next(), source: pick(['src:a', 'src:b', 'src:c'])}, key))
    }
  }
  return {records: out, hlcs: out.map((s) => s.record.hlc).sort()}
}

const deps = (store: Store) => ({store, config: {...DEFAULT_CONFIG}, key: () => testKey(1)})
const dirs: string[] = []
beforeAll(() => initHash())
afterAll(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

/** A DuckDB store; with `range`, one that reads contested pairs in ranges of about that many assertions (many ranges per store here). */
async function duck(range?: number): Promise<DuckDBStore> {
  const dir = mkdtempSync(join(tmpdir(), 'steme-conflicts-'))
  dirs.push(dir)
  const store = await DuckDBStore.open(join(dir, 'store.duckdb'), {create: true})
  if (range !== undefined) (store as unknown as {contestedRange: number}).contestedRange = range
  return store
}

describe('conflicts', () => {
  it('answers what the whole-store pass answered, on random stores, in memory and in DuckDB (read in one range and in many)', async () => {
    let compared = 0
    let rows = 0
    // Dated answers that differ from the undated one under the same lens: the dates do matter.
    let dated = 0
    // Six stores of 70 to 140 records: ~1,200 compared rows, ~50 dated answers that differ from
    // the undated one and ~230 pairs the validity rule dropped, well above the bounds below.
    // Sixteen took ~45 s, most of it in the store read in ranges of 7 assertions.
    const SEEDS = 6
    for (let seed = 1; seed <= SEEDS; seed++) {
      const {records, hlcs} = randomStore(seed)
      for (const store of [new MemoryStore(), await duck(), await duck(7)]) {
        await store.insert(records)
        const inputs: ConflictsInput[] = [
          {},
          {lens: 'recency'},
          {lens: 'trust'},
          {lens: 'confidence', minScore: 0.3},
          {lens: 'skeptic'},
          {lens: 'votes'},
          {lens: 'reliability'},
          {lens: 'consensus', limit: 2},
          {asOf: hlcs[Math.floor(hlcs.length / 2)]},
          {asOf: hlcs[Math.floor(hlcs.length / 2)], lens: 'votes'},
          {asOf: hlcs[Math.floor(hlcs.length / 3)], lens: 'trust', minScore: 0.2, limit: 3},
          {validAt: '2019-06-01'},
          {validAt: '2023-06-01', lens: 'recency'},
          {validAt: '2024-06-01', lens: 'votes'},
          {validAt: '2026-01-01T00:00:00Z', asOf: hlcs[Math.floor(hlcs.length / 2)], lens: 'trust'},
        ]
        for (const input of inputs) {
          const q = {...input, now: 1_800_000_000_000}
          const want = await referenceConflicts(deps(store), q)
          expect(await conflictsOp(deps(store), q), `seed ${seed} ${store.location} ${JSON.stringify(input)}`).toEqual(want)
          compared++
          rows += want.conflicts.length
          if (input.validAt !== undefined && input.asOf === undefined) {
            const undated = await referenceConflicts(deps(store), {...q, validAt: undefined})
            if (JSON.stringify(undated.conflicts) !== JSON.stringify(want.conflicts)) dated++
          }
        }
        await store.close()
      }
    }
    expect(compared).toBe(SEEDS * 3 * 15)
    // The stores do disagree: the comparison covers many contested pairs.
    expect(rows).toBeGreaterThan(200)
    expect(dated).toBeGreaterThan(32)
    // Undated, the validity rule moved scores (ranges overlapping only in part) and dropped pairs (timelines).
    expect(validityStats.rescored).toBeGreaterThan(validityStats.dropped)
    expect(validityStats.dropped).toBeGreaterThan(20)
    // 270 comparisons against the reference pass: ~15 s alone.
  }, 240_000)

  it('the store hands over only pairs with more than one value, in batches of whole pairs', async () => {
    const store = await duck()
    const one = (subject: string, value: Json, n: number) => assertion({subject, predicate: 'p', value, hlc: stamp(1_700_000_000_000 + n, 0)}, testKey(n % 3 + 1))
    await store.insert([one('agree', 1, 1), one('agree', 1, 2), one('split', 1, 3), one('split', 2, 4), one('lone', 5, 5), one('nested', {value: 1}, 6), one('nested', {value: 1, b: 2}, 7), one('split2', 'x', 8), one('split2', 'y', 9)])
    const {pairs, batches: parts} = await store.contested({batch: 2})
    const batches: string[][][] = []
    for await (const b of parts) batches.push(b.groups.map((g) => g.map((a) => `${a.subject}=${JSON.stringify(a.value)}`)))
    expect(pairs).toBe(5)
    expect(batches).toEqual([[['nested={"value":1}', 'nested={"b":2,"value":1}']], [['split=1', 'split=2']], [['split2="x"', 'split2="y"']]])
    await store.close()
  })
})
