/** A record the other side rejects: counted once, not sent again in later passes, and blamed for the stores differing. */
import {describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {renderSyncSummary} from '../../src/ui/sync-summary.js'
import {keyFor, makeRecords, memoryWith, syncPair} from './helpers.js'

/** Two good records, and one stamped an hour ahead (beyond the 60 s skew both sides allow). */
async function withFuture() {
  const good = await makeRecords(2, {tag: 'ok'})
  const future = await makeRecords(1, {tag: 'future', spanMs: 0, endAgoMs: -3_600_000, key: keyFor(9)})
  return {records: [...good, ...future], futureId: future[0].record.id}
}

describe('a record the remote rejects', () => {
  it('is sent once, counted once, and the sync ends without rerunning passes', async () => {
    const {records, futureId} = await withFuture()
    const local = await memoryWith(records)
    const remote = new MemoryStore()
    const s = await syncPair(local, remote, 'sync')
    expect(s.sent).toBe(3)
    expect(s.remoteResult).toEqual({added: 2, present: 0, rejected: 1})
    expect(s.errors.filter((e) => e.where === 'remote').map((e) => e.id)).toEqual([futureId])
    expect(s.rounds).toBeLessThanOrEqual(4)
    const text = renderSyncSummary(s)
    expect(text).toMatch(/not in step: here 3 records, there 2, because 1 record was rejected/)
    expect(text).not.toMatch(/run sync again/)
  })

  it('is received once and counted once when this side rejects it', async () => {
    const {records, futureId} = await withFuture()
    const local = new MemoryStore()
    const remote = await memoryWith(records)
    const s = await syncPair(local, remote, 'sync')
    expect(s.received).toBe(3)
    expect(s.local).toEqual({added: 2, present: 0, rejected: 1})
    expect(s.rejected).toBe(1)
    expect(s.errors.filter((e) => e.where === 'local').map((e) => e.id)).toEqual([futureId])
    expect(s.rounds).toBeLessThanOrEqual(4)
    expect(renderSyncSummary(s)).toMatch(/because 1 record was rejected/)
  })
})
