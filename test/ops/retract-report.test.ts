/** What `steme retract` reports the cascade does: derived assertions are counted as they stand in the signer's queries afterwards. */
import {beforeAll, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {initHash} from '../../src/core/hash.js'
import {Hlc} from '../../src/core/hlc.js'
import type {Deps} from '../../src/ops/deps.js'
import {queryOp} from '../../src/ops/query.js'
import {retractOp} from '../../src/ops/retract.js'
import {assertion, record, stamp, testKey} from '../helpers/records.js'

const me = testKey(1)
const WALL = 1_700_000_000_000
const deps = (store: MemoryStore): Deps => ({store, clock: new Hlc(undefined), config: {...DEFAULT_CONFIG}, key: () => me, saveClock: async () => undefined})

beforeAll(() => initHash())

describe('retract reports the cascade as the queries will see it', () => {
  it('a derived assertion whose other evidence an earlier retraction took is counted as falling now, not as kept', async () => {
    const store = new MemoryStore()
    const run1 = assertion({subject: 'lab:x', predicate: 'result', value: 5, source: 'lab:run1', hlc: stamp(WALL + 1000, 0)}, testKey(2))
    const run2 = assertion({subject: 'lab:x', predicate: 'result', value: 5, source: 'lab:run2', hlc: stamp(WALL + 2000, 0)}, testKey(3))
    const derived = assertion({subject: 'drug:y', predicate: 'efficacy', value: 'high', evidence: [run1.record.id, run2.record.id], hlc: stamp(WALL + 3000, 0)}, testKey(4))
    await store.insert([run1, run2, derived])
    const first = await retractOp(deps(store), {source: 'lab:run1'})
    expect(first).toMatchObject({direct: 1, derived: 0, kept: 1})
    const second = await retractOp(deps(store), {target: run2.record.id})
    const q = await queryOp({store, config: DEFAULT_CONFIG, self: me.publicHex}, {subject: 'drug:y', predicate: 'efficacy', lens: 'recency'})
    expect(q.candidates[0].state).toBe('retracted')
    expect(second).toMatchObject({direct: 1, derived: 1, kept: 0})
  })

  it('evidence retracted only by an agent the signer does not trust still justifies', async () => {
    const store = new MemoryStore()
    const run1 = assertion({subject: 'lab:x', predicate: 'result', value: 5, hlc: stamp(WALL + 1000, 0)}, testKey(2))
    const run2 = assertion({subject: 'lab:x', predicate: 'result', value: 6, hlc: stamp(WALL + 2000, 0)}, testKey(3))
    const derived = assertion({subject: 'drug:y', predicate: 'efficacy', value: 'high', evidence: [run1.record.id, run2.record.id], hlc: stamp(WALL + 3000, 0)}, testKey(4))
    // A stranger (not run1's author, not trusted) retracts run1: not honoured here.
    const stranger = record({kind: 'retract', target: run1.record.id, hlc: stamp(WALL + 4000, 0)}, testKey(5))
    await store.insert([run1, run2, derived, stranger])
    expect(await retractOp(deps(store), {target: run2.record.id})).toMatchObject({direct: 1, derived: 0, kept: 1})
  })

  it('a derived assertion that had already fallen is neither derived by this retraction nor kept', async () => {
    const store = new MemoryStore()
    const a = assertion({subject: 'lab:x', predicate: 'result', value: 5, source: 'lab:a', hlc: stamp(WALL + 1000, 0)}, testKey(2))
    const b = assertion({subject: 'lab:x', predicate: 'result', value: 5, source: 'lab:b', hlc: stamp(WALL + 2000, 0)}, testKey(3))
    const onA = assertion({subject: 'drug:y', predicate: 'efficacy', value: 'high', evidence: [a.record.id], hlc: stamp(WALL + 3000, 0)}, testKey(4))
    const onBoth = assertion({subject: 'drug:z', predicate: 'efficacy', value: 'low', evidence: [a.record.id, b.record.id], hlc: stamp(WALL + 3500, 0)}, testKey(4))
    await store.insert([a, b, onA, onBoth])
    expect(await retractOp(deps(store), {source: 'lab:a'})).toMatchObject({direct: 1, derived: 1, kept: 1})
    // Retracting a by id as well: onA fell already; onBoth still stands on b.
    expect(await retractOp(deps(store), {target: a.record.id})).toMatchObject({direct: 1, derived: 0, kept: 1})
  })
})

describe('retract reports a derived assertion that had already fallen', () => {
  it('when nothing outside the graph is involved: retracting a root again by id', async () => {
    const store = new MemoryStore()
    const a = assertion({subject: 'lab:x', predicate: 'result', value: 5, source: 'lab:a', hlc: stamp(WALL + 1000, 0)}, testKey(2))
    const onA = assertion({subject: 'drug:y', predicate: 'efficacy', value: 'high', evidence: [a.record.id], hlc: stamp(WALL + 3000, 0)}, testKey(4))
    await store.insert([a, onA])
    expect(await retractOp(deps(store), {source: 'lab:a'})).toMatchObject({direct: 1, derived: 1, kept: 0})
    expect(await retractOp(deps(store), {target: a.record.id})).toMatchObject({direct: 1, derived: 0, kept: 0})
  })
})
