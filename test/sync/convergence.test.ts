/** Convergence: whatever two stores hold, a sync leaves both with the union and equal root fingerprints. */
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {Hlc} from '../../src/core/hlc.js'
import {TransientError, type Transport} from '../../src/core/transport.js'
import {MemoryStore} from '../../src/adapters/memory.js'
import {runSync} from '../../src/sync/client.js'
import {createSyncHandler} from '../../src/sync/server.js'
import {loopbackTransport} from '../../src/sync/transports/loopback.js'
import {DAY, allIds, makeRecords, memoryWith, receiveDeps, root, syncPair} from './helpers.js'

const POOL = await makeRecords(3000, {tag: 'pool', spanMs: 10 * DAY})
// A burst: many records within one 17-minute bucket, so ranges must split by id prefix.
const BURST = await makeRecords(1500, {tag: 'burst', spanMs: 60_000, endAgoMs: 5 * 60_000})
const ALL = [...POOL, ...BURST]

async function expectConverged(mine: number[], theirs: number[], mode: 'sync' | 'pull' | 'push' = 'sync') {
  const local = await memoryWith(mine.map((i) => ALL[i]))
  const remote = await memoryWith(theirs.map((i) => ALL[i]))
  const s = await syncPair(local, remote, mode)
  const union = [...new Set([...mine, ...theirs])].map((i) => ALL[i].record.id).sort()
  if (mode !== 'push') expect(await allIds(local)).toEqual(mode === 'sync' ? union : [...new Set([...mine, ...theirs])].map((i) => ALL[i].record.id).sort())
  if (mode !== 'pull') expect(await allIds(remote)).toEqual(union)
  if (mode === 'sync') {
    expect(await root(local)).toEqual(await root(remote))
    expect(s.remoteRoot).toEqual(s.localRoot)
  }
  return s
}

const range = (a: number, b: number) => Array.from({length: b - a}, (_, i) => a + i)

describe('convergence', () => {
  it('empty with empty, empty with full, full with empty', async () => {
    expect((await expectConverged([], [])).rounds).toBe(1)
    await expectConverged([], range(0, ALL.length))
    await expectConverged(range(0, ALL.length), [])
  })

  it('identical sets: one round trip, nothing moved', async () => {
    const s = await expectConverged(range(0, ALL.length), range(0, ALL.length))
    expect(s.rounds).toBe(1)
    expect(s.sent + s.received).toBe(0)
  })

  it('disjoint sets', async () => {
    await expectConverged(range(0, 2000), range(2000, ALL.length))
  })

  it('one record apart, either side, anywhere (including inside the burst)', async () => {
    for (const gap of [0, 1777, 2999, 3000, 3700, ALL.length - 1]) {
      const s = await expectConverged(range(0, ALL.length).filter((i) => i !== gap), range(0, ALL.length))
      expect(s.received).toBe(1)
      const t = await expectConverged(range(0, ALL.length), range(0, ALL.length).filter((i) => i !== gap))
      expect(t.sent).toBe(1)
    }
  })

  it('random overlapping pairs, in every mode', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(ALL.length - 1), {maxLength: 1200, size: 'large'}),
        fc.array(fc.nat(ALL.length - 1), {maxLength: 1200, size: 'large'}),
        fc.constantFrom('sync' as const, 'pull' as const, 'push' as const),
        async (mine, theirs, mode) => {
          await expectConverged([...new Set(mine)], [...new Set(theirs)], mode)
        },
      ),
      {numRuns: 25},
    )
  })
})

/** Fails every request after the first `n`, like a cable pulled mid-sync. */
function cutAfter(t: Transport, n: number): Transport {
  let left = n
  return {
    remote: t.remote,
    request: (m) => (left-- > 0 ? t.request(m) : Promise.reject(new TransientError('connection reset'))),
    close: () => t.close(),
  }
}

describe('interruptions and safety', () => {
  it('a transport cut mid-sync keeps what arrived; the rerun completes', async () => {
    const recs = await makeRecords(12_000, {tag: 'cut'})
    const local = new MemoryStore()
    const remote = await memoryWith(recs)
    const handler = createSyncHandler(receiveDeps(remote))
    const sleeps: number[] = []
    const retry = {retries: 2, baseMs: 100, maxMs: 1000, sleep: async (ms: number) => void sleeps.push(ms)}
    await expect(runSync(receiveDeps(local), cutAfter(loopbackTransport('r', handler), 1), {mode: 'pull', threads: 0, retry})).rejects.toThrow(/connection reset/)
    expect(sleeps).toHaveLength(2)
    const kept = (await local.stats()).records
    expect(kept).toBeGreaterThan(0)
    expect(kept).toBeLessThan(12_000)
    const s = await runSync(receiveDeps(local), loopbackTransport('r', handler), {mode: 'pull', threads: 0})
    expect(s.local.added).toBe(12_000 - kept)
    expect(await root(local)).toEqual(await root(remote))
  })

  it('retries a transient failure with backoff and finishes', async () => {
    const recs = await makeRecords(200, {tag: 'flaky'})
    const local = new MemoryStore()
    const handler = createSyncHandler(receiveDeps(await memoryWith(recs)))
    const inner = loopbackTransport('r', handler)
    let calls = 0
    const flaky: Transport = {remote: 'r', request: (m) => (++calls === 1 ? Promise.reject(new TransientError('reset')) : inner.request(m)), close: () => inner.close()}
    const delays: number[] = []
    const s = await runSync(receiveDeps(local), flaky, {mode: 'pull', threads: 0, retry: {retries: 3, baseMs: 100, maxMs: 1000, random: () => 1, sleep: async (ms) => void delays.push(ms)}})
    expect(s.local.added).toBe(200)
    expect(delays).toEqual([100])
  })

  it('moves the local clock past received stamps', async () => {
    const future = await makeRecords(10, {tag: 'clock', endAgoMs: -30_000, spanMs: 1000})
    const local = new MemoryStore()
    const clock = new Hlc(undefined, () => Date.now() - 3_600_000)
    let saved = 0
    const handler = createSyncHandler(receiveDeps(await memoryWith(future)))
    await runSync({store: local, clock, saveClock: async () => void saved++, skewMs: 60_000}, loopbackTransport('r', handler), {mode: 'pull', threads: 0})
    const newest = future.map((r) => r.record.hlc).sort().pop()!
    expect(clock.current() >= newest).toBe(true)
    expect(clock.tick() > newest).toBe(true)
    expect(saved).toBeGreaterThan(0)
  })

  it('refuses records stamped beyond the clock skew', async () => {
    const ahead = await makeRecords(5, {tag: 'ahead', endAgoMs: -3_600_000, spanMs: 1000})
    const local = new MemoryStore()
    const s = await syncPair(local, await memoryWith(ahead), 'pull')
    expect(s.local.rejected).toBe(5)
    expect(s.errors[0].reason).toMatch(/hlc: .* in the future/)
    expect((await local.stats()).records).toBe(0)
  })
})
