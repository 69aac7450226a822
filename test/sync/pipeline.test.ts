/** Received batches in flight: the next response's records are verified while earlier ones are still being stored. */
import {describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import type {Sealed} from '../../src/core/seal.js'
import type {InsertResult} from '../../src/core/store.js'
import {TransientError, type Transport} from '../../src/core/transport.js'
import {runSync} from '../../src/sync/client.js'
import {createSyncHandler} from '../../src/sync/server.js'
import {loopbackTransport} from '../../src/sync/transports/loopback.js'
import {makeRecords, memoryWith, receiveDeps, root} from './helpers.js'

/** A memory store whose first insert waits until `release` is called (a slow commit), logging when inserts start and end. */
class SlowFirstInsert extends MemoryStore {
  events: string[] = []
  private calls = 0
  private open!: () => void
  private readonly gate = new Promise<void>((r) => (this.open = r))
  release() {
    this.open()
  }
  override async insert(batch: readonly Sealed[]): Promise<InsertResult> {
    const n = ++this.calls
    this.events.push(`start ${n}`)
    // The first commit is held until the test releases it (or, so a regression fails instead of hanging, 3 s).
    if (n === 1) await Promise.race([this.gate, new Promise((r) => setTimeout(r, 3000))])
    const r = await super.insert(batch)
    this.events.push(`end ${n}`)
    return r
  }
}

/** Counts requests; calls `onRequest` with the count before passing each on. */
function counting(t: Transport, onRequest: (n: number) => void, failFrom = Infinity): Transport {
  let n = 0
  return {
    remote: t.remote,
    request: (m) => {
      onRequest(++n)
      return n >= failFrom ? Promise.reject(new TransientError('connection reset')) : t.request(m)
    },
    close: () => t.close(),
  }
}

describe('received batches in flight', () => {
  // About 10,000 records fill one response, so 26,000 arrive in three batches, in the responses
  // to requests 2, 3 and 4 (the opening only splits: more than 20,000 are missing).
  const records = makeRecords(26_000, {tag: 'pipe'})

  it('asks for the next batch while an earlier one is still being stored, and commits batches in order', async () => {
    const recs = await records
    const remote = await memoryWith(recs)
    const local = new SlowFirstInsert()
    let requestsBeforeFirstCommit = 0
    const t = counting(loopbackTransport('r', createSyncHandler(receiveDeps(remote))), (n) => {
      if (!local.events.includes('end 1')) requestsBeforeFirstCommit = n
      // Once the fourth request is out (two batches received, the first not yet stored), let the first commit finish.
      if (n === 4) local.release()
    })
    const s = await runSync(receiveDeps(local), t, {mode: 'pull', threads: 0})
    expect(s.local.added).toBe(26_000)
    expect(requestsBeforeFirstCommit).toBeGreaterThanOrEqual(4)
    // Each commit ends before the next one starts, in the order the batches arrived.
    const inserts = local.events.length / 2
    expect(inserts).toBeGreaterThanOrEqual(3)
    expect(local.events).toEqual(Array.from({length: inserts}, (_, i) => [`start ${i + 1}`, `end ${i + 1}`]).flat())
    expect(await root(local)).toEqual(await root(remote))
  })

  it('a cut while two batches are in flight keeps both; the rerun completes', async () => {
    const recs = await records
    const remote = await memoryWith(recs)
    const handler = createSyncHandler(receiveDeps(remote))
    const local = new SlowFirstInsert()
    // The fourth request fails (no retries): two responses' records have arrived, the first not yet stored.
    const t = counting(loopbackTransport('r', handler), (n) => n === 4 && setTimeout(() => local.release(), 50), 4)
    await expect(runSync(receiveDeps(local), t, {mode: 'pull', threads: 0, retry: {retries: 0, baseMs: 1, maxMs: 1}})).rejects.toThrow(/connection reset/)
    // Both batches that arrived were verified and stored before the command gave up.
    expect(local.events).toEqual(['start 1', 'end 1', 'start 2', 'end 2'])
    const kept = (await local.stats()).records
    expect(kept).toBeGreaterThan(10_000)
    expect(kept).toBeLessThan(26_000)
    const s = await runSync(receiveDeps(local), loopbackTransport('r', handler), {mode: 'pull', threads: 0})
    expect(s.local.added).toBe(26_000 - kept)
    expect(await root(local)).toEqual(await root(remote))
  })
})
