import {describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {MOD, bucketOf, idValue, valueId} from '../../src/core/bucket.js'
import {storeContract} from '../contracts/store.js'
import {assertion, stamp} from '../helpers/records.js'

storeContract('memory', async () => ({store: new MemoryStore(), teardown: async () => {}}))

describe('memory store: its sync buckets are its one derived index', () => {
  it('derivedProblems reports a bucket whose count or sum drifted from the records; repairDerived recounts it', async () => {
    const store = new MemoryStore()
    const [a, b] = [assertion({hlc: stamp(1_700_000_000_000, 1)}), assertion({hlc: stamp(1_700_000_000_000, 2)})]
    await store.insert([a, b])
    // Nothing outside the process can reach the map: change it as a bug in insert would.
    const buckets = (store as unknown as {buckets: Map<number, {count: number; sum: bigint; ids: string[]}>}).buckets
    const bucket = bucketOf(a.record.hlc)
    buckets.get(bucket)!.count = 3
    const sum = valueId((idValue(a.record.id) + idValue(b.record.id)) % MOD)
    expect(await store.derivedProblems()).toEqual([{table: 'sync_buckets', bucket, stored: {count: 3, sum}, expected: {count: 2, sum}}])
    expect(await store.repairDerived([])).toEqual({records: 0, refsRemoved: 0, buckets: 1})
    expect(await store.derivedProblems()).toEqual([])
    expect(await store.bucketIds([{from: bucket, to: bucket}])).toEqual([a.record.id, b.record.id].sort().map((id) => ({bucket, id})))
  })
})
