/** The reliability lens's cached training is best-effort: failing to save it never fails the query. */
import {afterEach, beforeAll, describe, expect, it, vi} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {initHash} from '../../src/core/hash.js'
import type {Store} from '../../src/core/store.js'
import {learnReliability} from '../../src/ops/reliability.js'
import {assertion, testKey} from '../helpers/records.js'

beforeAll(() => initHash())
afterEach(() => vi.restoreAllMocks())

async function storeWithWitnesses(): Promise<MemoryStore> {
  const store = new MemoryStore()
  await store.insert([
    assertion({subject: 's1', predicate: 'p', value: 1}, testKey(1)),
    assertion({subject: 's1', predicate: 'p', value: 2}, testKey(2)),
    assertion({subject: 's2', predicate: 'p', value: 3}, testKey(1)),
  ])
  return store
}

describe('the cached reliability training', () => {
  it('is saved in store meta and read back by the next process', async () => {
    const store = await storeWithWitnesses()
    const learned = await learnReliability(asNewProcess(store), 'p')
    expect(learned.cached).toBe(false)
    expect(await store.getMeta('reliability:v2:p')).toContain('"fingerprint"')
    const again = await learnReliability(asNewProcess(store), 'p')
    expect(again.cached).toBe(true)
    expect([...again.table]).toEqual([...learned.table])
  })

  it('a table too large to write as one string (RangeError from JSON.stringify) answers without the cache', async () => {
    const store = await storeWithWitnesses()
    const stringify = JSON.stringify
    vi.spyOn(JSON, 'stringify').mockImplementation((value, ...rest) => {
      if (value && typeof value === 'object' && 'fingerprint' in value) throw new RangeError('Invalid string length')
      return stringify(value, ...(rest as [])) as string
    })
    const learned = await learnReliability(asNewProcess(store), 'p')
    expect(learned.cached).toBe(false)
    expect(learned.table.size).toBeGreaterThan(1)
    expect(await store.getMeta('reliability:v2:p')).toBeUndefined()
  })
})

/** The store as a new process sees it: no in-process memo of the training, only what store meta holds. */
function asNewProcess(store: MemoryStore): {store: Store} {
  const view: Pick<Store, 'stats' | 'getMeta' | 'setMeta' | 'scan'> = {
    stats: () => store.stats(),
    getMeta: (key) => store.getMeta(key),
    setMeta: (key, value) => store.setMeta(key, value),
    scan: (opts) => store.scan(opts),
  }
  return {store: view as Store}
}
