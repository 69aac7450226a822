import {describe, expect, it} from 'vitest'
import {MAX_BUCKET} from '../../src/core/bucket.js'
import {IdList} from '../../src/sync/ids.js'
import {newOutcome, respond} from '../../src/sync/reconcile.js'
import {LocalView, fingerprint} from '../../src/sync/view.js'
import {T} from '../../src/sync/wire.js'
import {allIds, makeRecords, memoryWith, root, syncPair} from './helpers.js'

describe('reconciliation between memory stores', () => {
  it('pulls a disjoint set', async () => {
    const a = await makeRecords(300, {tag: 'a'})
    const b = await makeRecords(200, {tag: 'b'})
    const local = await memoryWith(a)
    const remote = await memoryWith(b)
    const s = await syncPair(local, remote, 'sync')
    expect(await allIds(local)).toEqual(await allIds(remote))
    expect(await root(local)).toEqual(await root(remote))
    expect(s.local.added).toBe(200)
    expect(s.remoteResult.added).toBe(300)
  })

  it('answers an id list for a range it holds nothing in with "count 0", not the ids echoed back', async () => {
    const a = await makeRecords(5)
    const view = await LocalView.load(await memoryWith([]))
    const range = {a: 0, b: MAX_BUCKET, bits: 0, prefix: 0}
    const out = await respond(view, [{t: T.Ids, range, ids: IdList.fromHex(a.map((s) => s.record.id))}], newOutcome())
    expect(out.iLack).toEqual([])
    expect(out.reply).toEqual([{t: T.Fp, range, count: 0, hash: new Uint8Array(0)}])
  })

  it('answers a range where many records differ with its ids, not with a split', async () => {
    const a = await makeRecords(2000)
    const view = await LocalView.load(await memoryWith(a))
    const range = {a: 0, b: MAX_BUCKET, bits: 0, prefix: 0}
    // The peer holds 1,600 of our 2,000: a fifth differs.
    const theirs = await LocalView.load(await memoryWith(a.slice(0, 1600)))
    const t = theirs.total
    const out = await respond(view, [{t: T.Fp, range, count: t.count, hash: fingerprint(t)}], newOutcome())
    expect(out.reply).toHaveLength(1)
    expect(out.reply[0]).toMatchObject({t: T.Ids, range})
    expect((out.reply[0] as {ids: IdList}).ids.count).toBe(2000)
    // A few apart in the same range still splits.
    const near = await LocalView.load(await memoryWith(a.slice(0, 1990)))
    const few = await respond(view, [{t: T.Fp, range, count: 1990, hash: fingerprint(near.total)}], newOutcome())
    expect(few.reply.length).toBeGreaterThan(1)
    expect(few.reply.every((f) => f.t === T.Fp)).toBe(true)
  })

  it('reads ids no further ahead than its reply budget can still take', async () => {
    const a = await makeRecords(4000)
    const store = await memoryWith(a)
    const view = await LocalView.load(store)
    const theirs = await LocalView.load(await memoryWith(a.filter((_, i) => i % 2 === 0)))
    // Eight ranges, each half missing at the peer: every one is answered with our ids (~500).
    const {partition} = await import('../../src/sync/reconcile.js')
    const ranges = partition(view.bucketsIn(0, MAX_BUCKET), 0, MAX_BUCKET, 8)
    const frames = ranges.map((range) => {
      const t = theirs.bucketSummary(range)
      return {t: T.Fp as const, range, count: t.count, hash: fingerprint(t)}
    })
    let read = 0
    const bucketIds = store.bucketIds.bind(store)
    store.bucketIds = async (spans) => {
      const got = await bucketIds(spans)
      read += got.length
      return got
    }
    const out = await respond(view, frames, newOutcome(), 600 * 32)
    expect(out.handled).toBeGreaterThanOrEqual(2)
    expect(out.handled).toBeLessThan(8)
    const listed = out.reply.reduce((n, f) => n + (f.t === T.Ids ? f.ids.count : 0), 0)
    // What was read is what was listed, plus at most the range that ran past the budget.
    expect(read).toBeLessThanOrEqual(listed + 600)
    expect(read).toBeLessThan(4000)
  })

  it('answers a peer ahead by its newest records with "nothing after my newest", even when many differ', async () => {
    const a = await makeRecords(2000)
    const mine = await memoryWith(a.slice(0, 1800))
    const view = await LocalView.load(mine)
    const peer = (await LocalView.load(await memoryWith(a))).total
    const range = {a: 0, b: MAX_BUCKET, bits: 0, prefix: 0}
    // A tenth differs, but all of it is newer than our newest record: no id list is needed.
    const out = await respond(view, [{t: T.Fp, range, count: peer.count, hash: fingerprint(peer)}], newOutcome())
    expect(out.reply.filter((f) => f.t === T.Ids && f.ids.count > 256)).toEqual([])
    expect(out.reply).toContainEqual({t: T.Fp, range: {a: view.top + 1, b: MAX_BUCKET, bits: 0, prefix: 0}, count: 0, hash: new Uint8Array(0)})
  })

  it('pushes the newest records a server lacks', async () => {
    const a = await makeRecords(600)
    const local = await memoryWith(a)
    const remote = await memoryWith(a.slice(0, 500))
    const s = await syncPair(local, remote, 'push')
    expect(s.remoteResult.added).toBe(100)
    expect(await root(local)).toEqual(await root(remote))
  })

  it('settles identical sets in one round trip', async () => {
    const a = await makeRecords(2000)
    const s = await syncPair(await memoryWith(a), await memoryWith(a))
    expect(s.rounds).toBe(1)
    expect(s.received + s.sent).toBe(0)
  })

  it('finds one missing record', async () => {
    const a = await makeRecords(3000)
    const local = await memoryWith(a.filter((_, i) => i !== 1234))
    const remote = await memoryWith(a)
    const s = await syncPair(local, remote, 'pull')
    expect(s.local.added).toBe(1)
    expect(await root(local)).toEqual(await root(remote))
  })

  it('reconciles scattered differences both ways', async () => {
    const a = await makeRecords(20_000)
    const local = await memoryWith(a.filter((_, i) => i % 97 !== 3))
    const remote = await memoryWith(a.filter((_, i) => i % 89 !== 5))
    const s = await syncPair(local, remote, 'sync')
    expect(await allIds(local)).toEqual(await allIds(remote))
    expect((await allIds(local)).length).toBe(a.filter((_, i) => i % 97 !== 3 || i % 89 !== 5).length)
    console.log(JSON.stringify({rounds: s.rounds, bytesOut: s.bytesOut, bytesIn: s.bytesIn, rec: s.recordBytesIn + s.recordBytesOut, n: s.received + s.sent}))
  })
})
