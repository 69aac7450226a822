/**
 * `steme conflicts` and `steme query` agree on supersession from another pair: `supersedes` names
 * assertions, so an assertion about another subject or predicate can take a candidate out of its
 * pair, when the local policy honours it. With --valid-at they agree on what held at the date,
 * superseders included.
 */
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
import {conflictRow, conflictsOp, type ConflictRow} from '../../src/ops/conflicts.js'
import {queryOp} from '../../src/ops/query.js'
import {assertion, record, stamp, testKey} from '../helpers/records.js'

// The store's own key is agent 1; agents 2 to 4 are others nobody here trusts.
const [alice, bob, carol] = [2, 3, 4].map((n) => testKey(n))
const NOW = 1_800_000_000_000
const dirs: string[] = []
beforeAll(() => initHash())
afterAll(() => {
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

const at = (n: number) => stamp(1_700_000_300_000 + n * 1000, 0)
const said = (key: typeof alice, subject: string, value: Json, n: number, more: {supersedes?: string[]; evidence?: string[]; valid?: {from?: string; to?: string}} = {}) => assertion({subject, predicate: 'dose', value, hlc: at(n), ...more}, key)

async function stores(records: Sealed[]): Promise<Store[]> {
  const dir = mkdtempSync(join(tmpdir(), 'steme-conflicts-supersede-'))
  dirs.push(dir)
  const out: Store[] = [new MemoryStore(), await DuckDBStore.open(join(dir, 'store.duckdb'), {create: true})]
  for (const s of out) await s.insert(records)
  return out
}

/**
 * What `conflicts` lists for each pair, and what `query` on the pair resolves, as conflict rows:
 * they must be the same, pair by pair. Returns the rows conflicts listed.
 */
async function agree(store: Store, pairs: string[], asOf?: string, validAt?: string): Promise<ConflictRow[]> {
  const deps = {store, config: {...DEFAULT_CONFIG}, key: () => testKey(1)}
  const listed = (await conflictsOp(deps, {asOf, validAt, now: NOW})).conflicts
  for (const subject of pairs) {
    const [res] = (await queryOp(deps, {subject, predicate: 'dose', lens: 'consensus', asOf, validAt, now: NOW})).resolutions
    const row = listed.find((r) => r.subject === subject)
    // Without a date, two values may meet only at a date before what superseded one held: the score says so, whatever the count over all dates.
    const contested = res.conflict > 0
    expect(row !== undefined, `${store.location} ${subject}: conflicts ${row ? 'lists' : 'leaves out'} the pair, query finds ${res.candidates.length} live value(s) and conflict ${res.conflict}`).toBe(contested)
    if (row) {
      expect(row, `${store.location} ${subject}`).toEqual(conflictRow(res))
      expect(row).toMatchObject({subject, predicate: 'dose'})
    }
  }
  return listed
}

const valuesOf = (rows: ConflictRow[], subject: string) => rows.find((r) => r.subject === subject)?.top.map((t) => t.value).sort()

describe('conflicts and query agree on supersession from another pair', () => {
  it('a superseder about another subject by the same agent takes the candidate out: the pair drops out when one value stays live', async () => {
    const a = said(alice, 'drug:x', 100, 1)
    const b = said(bob, 'drug:x', 200, 2)
    const moved = said(alice, 'drug:x-er', 150, 3, {supersedes: [a.record.id]})
    for (const store of await stores([a, b, moved])) {
      const rows = await agree(store, ['drug:x', 'drug:x-er'])
      expect(rows.map((r) => r.subject)).toEqual([])
      const q = await queryOp({store, config: {...DEFAULT_CONFIG}, key: () => testKey(1)}, {subject: 'drug:x', predicate: 'dose'})
      expect(q.candidates.find((c) => c.id === a.record.id)).toMatchObject({state: 'superseded', why: [`superseded by ${moved.record.id}`]})
      await store.close()
    }
  })

  it('a superseder by another agent nobody here trusts is not honoured: its candidate stays live', async () => {
    const a = say3()
    // Carol may not supersede Alice's assertion; Bob supersedes his own, from another subject.
    const foreign = said(carol, 'drug:y', 150, 4, {supersedes: [a.alice.record.id]})
    const own = said(bob, 'drug:w', 250, 5, {supersedes: [a.bob.record.id]})
    for (const store of await stores([...a.all, foreign, own])) {
      const rows = await agree(store, ['drug:x', 'drug:y', 'drug:w'])
      expect(valuesOf(rows, 'drug:x')).toEqual(['100', '300'])
      await store.close()
    }
  })

  it('a retracted superseder supersedes nothing', async () => {
    const a = say3()
    const withdrawn = said(alice, 'drug:y', 150, 4, {supersedes: [a.alice.record.id]})
    const own = said(bob, 'drug:w', 250, 5, {supersedes: [a.bob.record.id]})
    const retraction = record({kind: 'retract', target: withdrawn.record.id, hlc: at(6)}, alice)
    for (const store of await stores([...a.all, withdrawn, own, retraction])) {
      const rows = await agree(store, ['drug:x', 'drug:y', 'drug:w'])
      expect(valuesOf(rows, 'drug:x')).toEqual(['100', '300'])
      await store.close()
    }
  })

  it('a superseder stamped after --as-of does not count at that as-of', async () => {
    const a = say3()
    const early = said(bob, 'drug:y', 250, 4, {supersedes: [a.bob.record.id]})
    const late = said(alice, 'drug:z', 150, 10, {supersedes: [a.alice.record.id]})
    for (const store of await stores([...a.all, early, late])) {
      const then = await agree(store, ['drug:x', 'drug:y', 'drug:z'], at(5))
      expect(valuesOf(then, 'drug:x')).toEqual(['100', '300'])
      // Now both superseders count: only Carol's value stays live.
      const now = await agree(store, ['drug:x', 'drug:y', 'drug:z'])
      expect(now.map((r) => r.subject)).toEqual([])
      await store.close()
    }
  })

  it('a superseder that a candidate of the pair cites as evidence still supersedes', async () => {
    const a = say3()
    const moved = said(alice, 'drug:y', 150, 4, {supersedes: [a.alice.record.id]})
    const derived = said(carol, 'drug:x', 300, 5, {evidence: [moved.record.id]})
    const own = said(bob, 'drug:w', 250, 6, {supersedes: [a.bob.record.id]})
    for (const store of await stores([...a.all, moved, derived, own])) {
      const rows = await agree(store, ['drug:x', 'drug:y', 'drug:w'])
      expect(rows.map((r) => r.subject)).toEqual([])
      await store.close()
    }
  })
})

describe('conflicts --valid-at: what was contested at a date', () => {
  it('a pair is contested at dates two of its values held, and a superseder counts only where its own range covers the date', async () => {
    // drug:x: Bob's 200 held 2021 to 2023 beside Alice's 100; Alice replaced hers with 120 from 2025.
    const x100 = said(alice, 'drug:x', 100, 1, {valid: {from: '2020-01-01'}})
    const x200 = said(bob, 'drug:x', 200, 2, {valid: {from: '2021-01-01', to: '2023-01-01'}})
    const x120 = said(alice, 'drug:x', 120, 3, {valid: {from: '2025-01-01'}, supersedes: [x100.record.id]})
    // drug:y: Alice's 5 against Carol's 6, always; from 2025 Alice's extended-release record replaces her 5.
    const y5 = said(alice, 'drug:y', 5, 4)
    const y6 = said(carol, 'drug:y', 6, 5)
    const er = said(alice, 'drug:y-er', 7, 6, {valid: {from: '2025-01-01'}, supersedes: [y5.record.id]})
    const pairs = ['drug:x', 'drug:y', 'drug:y-er']
    for (const store of await stores([x100, x200, x120, y5, y6, er])) {
      const listed = async (validAt?: string, asOf?: string) => (await agree(store, pairs, asOf, validAt)).map((r) => `${r.subject} ${r.top.map((t) => t.value).sort().join(',')}`).sort()
      expect(await listed('2020-06-01')).toEqual(['drug:y 5,6'])
      expect(await listed('2022-06-01')).toEqual(['drug:x 100,200', 'drug:y 5,6'])
      expect(await listed('2024-06-01')).toEqual(['drug:y 5,6'])
      // Both superseders hold now: Alice's 100 and 5 are replaced, and 200 has ended.
      expect(await listed('2025-06-01')).toEqual([])
      // Without a date the score is the highest any date gives, each date with the supersession
      // --valid-at gives it: 100 against 200 in 2022, 5 against 6 before 2025. The camps listed
      // are those over all dates, where both superseders stand (100 and 5 set aside).
      expect(await listed()).toEqual(['drug:x 120,200', 'drug:y 6'])
      const undated = await conflictsOp({store, config: {...DEFAULT_CONFIG}, key: () => testKey(1)}, {now: NOW})
      expect(undated.conflicts.map((r) => [r.subject, r.conflict])).toEqual([
        ['drug:x', 1],
        ['drug:y', 1],
      ])
      // Combined with --as-of: what the store knew then, at the date. Before drug:y was recorded:
      expect(await listed('2022-06-01', at(2))).toEqual(['drug:x 100,200'])
      // Before the extended-release record was: Alice's 5 still stood in 2025.
      expect(await listed('2025-06-01', at(5))).toEqual(['drug:y 5,6'])
      const deps = {store, config: {...DEFAULT_CONFIG}, key: () => testKey(1)}
      expect(await conflictsOp(deps, {validAt: '2022-06-01', asOf: at(5), now: NOW})).toMatchObject({validAt: '2022-06-01', asOf: at(5)})
      expect(await conflictsOp(deps, {now: NOW})).not.toHaveProperty('validAt')
      await expect(conflictsOp(deps, {validAt: 'June 2025x', now: NOW})).rejects.toThrow('--valid-at "June 2025x" is not a date')
      await expect(conflictsOp(deps, {validAt: 'someday', now: NOW, naming: 'params'})).rejects.toThrow('query parameter valid-at "someday" is not a date')
      await store.close()
    }
  })
})

/** Three agents disagreeing about drug:x. */
function say3() {
  const alice_ = said(alice, 'drug:x', 100, 1)
  const bob_ = said(bob, 'drug:x', 200, 2)
  const carol_ = said(carol, 'drug:x', 300, 3)
  return {alice: alice_, bob: bob_, carol: carol_, all: [alice_, bob_, carol_]}
}
