import {beforeAll, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {initHash} from '../../src/core/hash.js'
import {gatherPolicy} from '../../src/ops/context.js'
import {queryOp} from '../../src/ops/query.js'
import {assertion, record, testKey} from '../helpers/records.js'

beforeAll(() => initHash())

describe('the per-store policy cache', () => {
  it('is reused while the store is unchanged and recomputed after any insert', async () => {
    const store = new MemoryStore()
    const self = testKey(1).publicHex
    const deps = {store, config: DEFAULT_CONFIG}
    let reads = 0
    const ofKinds = store.ofKinds.bind(store)
    store.ofKinds = async (...a) => {
      reads++
      return ofKinds(...a)
    }
    const first = gatherPolicy(deps, {self})
    await first
    const readsOnce = reads
    await gatherPolicy(deps, {self})
    expect(reads).toBe(readsOnce) // served from the cache
    await store.insert([record({kind: 'trust', target: testKey(2).publicHex, weight: 1}, testKey(1))])
    const second = await gatherPolicy(deps, {self})
    expect(reads).toBeGreaterThan(readsOnce)
    expect(second.policy.scores.get(testKey(2).publicHex)?.score ?? 0).toBeGreaterThan((await first).policy.scores.get(testKey(2).publicHex)?.score ?? 0)
  })

  it('a source retraction stored after a query takes effect on the next query', async () => {
    const store = new MemoryStore()
    const deps = {store, config: DEFAULT_CONFIG, self: testKey(1).publicHex}
    await store.insert([assertion({subject: 's', predicate: 'p', value: 1, source: 'doc:a'}, testKey(1))])
    expect((await queryOp(deps, {subject: 's', predicate: 'p'})).resolutions[0].winner?.value).toBe(1)
    await store.insert([record({kind: 'retract', source: 'doc:a'}, testKey(1))])
    expect((await queryOp(deps, {subject: 's', predicate: 'p'})).resolutions[0].winner).toBeUndefined()
  })
})
