/** The observed store: what event streams resume from, and a subscription that meets the writes under way exactly. */
import {describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import type {Sealed} from '../../src/core/seal.js'
import type {Store} from '../../src/core/store.js'
import {ObservedStore, type Added} from '../../src/serve/events.js'
import {Journal} from '../../src/serve/journal.js'
import {assertion, stamp} from '../helpers/records.js'

/** The memory store, whose next insert after `hold()` waits until `release()`: a write under way, as a large one is. */
function gated(inner: Store) {
  let gate: {open: Promise<void>; release(): void; entered(): void; started: Promise<void>} | undefined
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'insert')
        return async (batch: readonly Sealed[]) => {
          const g = gate
          gate = undefined
          if (g) {
            g.entered()
            await g.open
          }
          return target.insert(batch)
        }
      const v = Reflect.get(target, prop, target)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  return {
    store,
    /** Hold the next insert; resolves once it has started. */
    hold(): {started: Promise<void>; release(): void} {
      let release!: () => void
      let entered!: () => void
      const open = new Promise<void>((r) => (release = r))
      const started = new Promise<void>((r) => (entered = r))
      gate = {open, release, entered, started}
      return {started, release}
    },
  }
}

/** The store, whose inserts fail after storing their records while `fail(true)`: as a disk that fills at the checkpoint after the insert. */
function failing(inner: Store) {
  let on = false
  const store = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'insert')
        return async (batch: readonly Sealed[]) => {
          const res = await target.insert(batch)
          if (on) throw new Error('no space left on device')
          return res
        }
      const v = Reflect.get(target, prop, target)
      return typeof v === 'function' ? v.bind(target) : v
    },
  })
  return {store, fail: (yes: boolean) => void (on = yes)}
}

describe('ObservedStore subscriptions', () => {
  it('a stream resuming while a write unseen by the journal is under way is told it cannot resume, not left missing that write', async () => {
    const inner = new MemoryStore()
    const r1 = assertion({subject: 's:1', value: 1})
    const r2 = assertion({subject: 's:2', value: 2})
    const r3 = assertion({subject: 's:3', value: 3})
    await inner.insert([r1])
    const g = gated(inner)
    // No resume window: once the last stream closes, counts-only writes take the bulk path.
    const obs = new ObservedStore(g.store, () => undefined, {resumeMs: 0})
    const first = await obs.subscribe(() => undefined)
    await obs.insertDetailed([r2])
    first.close()
    const held = g.hold()
    const write = obs.forRequest(false).store.insert([r3])
    await held.started
    const got: Added[] = []
    const resuming = obs.subscribe((a) => got.push(a), r2.record.id)
    held.release()
    expect(await write).toEqual({added: 1, present: 0})
    const sub = await resuming
    // r3 went in unseen: a catch-up from r2 would miss it, so there is none.
    expect(sub.missed).toEqual({lost: expect.stringContaining('does not know')})
    expect(sub.position).toMatch(/^begin-/)
    // And the stream is live from there: the next record comes to it.
    const r4 = assertion({subject: 's:4', value: 4})
    await obs.forRequest(false).store.insert([r4])
    expect(got.flatMap((a) => a.records.map((r) => r.id))).toEqual([r4.record.id])
    sub.close()
  })

  it('an insert that fails after storing some of its records leaves no stream resuming as if it had seen them all', async () => {
    const inner = new MemoryStore()
    const {store, fail} = failing(inner)
    const obs = new ObservedStore(store, () => undefined)
    const r1 = assertion({subject: 's:1', value: 1})
    const r2 = assertion({subject: 's:2', value: 2})
    const open = await obs.subscribe(() => undefined)
    await obs.insertDetailed([r1])
    fail(true)
    await expect(obs.insertDetailed([r2])).rejects.toThrow('no space left')
    expect(await inner.has([r2.record.id])).toEqual(new Set([r2.record.id]))
    const back = await obs.subscribe(() => undefined, r1.record.id)
    expect(back.missed).toEqual({lost: expect.any(String)})
    open.close()
    back.close()
  })

  it('a start mark handed out while the journal was empty does not resume past records stored unseen', async () => {
    const obs = new ObservedStore(new MemoryStore(), () => undefined, {resumeMs: 0})
    const first = await obs.subscribe(() => undefined)
    expect(first.position).toMatch(/^begin-/)
    first.close()
    const r1 = assertion({subject: 's:1', value: 1})
    // Nobody tracks: the bulk path, which the journal does not see.
    expect(await obs.forRequest(false).store.insert([r1])).toEqual({added: 1, present: 0})
    const back = await obs.subscribe(() => undefined, first.position)
    expect(back.missed).toEqual({lost: expect.any(String)})
    back.close()
  })

  it('a bulk insert that fails after storing some records ends the run too', async () => {
    const inner = new MemoryStore()
    const {store, fail} = failing(inner)
    const obs = new ObservedStore(store, () => undefined, {resumeMs: 0})
    const r1 = assertion({subject: 's:1', value: 1})
    const r2 = assertion({subject: 's:2', value: 2})
    const seen = await obs.subscribe(() => undefined)
    await obs.insertDetailed([r1])
    seen.close()
    fail(true)
    await expect(obs.forRequest(false).store.insert([r2])).rejects.toThrow('no space left')
    expect(await inner.has([r2.record.id])).toEqual(new Set([r2.record.id]))
    const back = await obs.subscribe(() => undefined, r1.record.id)
    expect(back.missed).toEqual({lost: expect.any(String)})
    back.close()
  })

  it('an open stream is told when an insert fails part way (its records are never announced: a retry finds them present)', async () => {
    const inner = new MemoryStore()
    const {store, fail} = failing(inner)
    const obs = new ObservedStore(store, () => undefined)
    const got: Added[] = []
    const open = await obs.subscribe((a) => got.push(a))
    const r2 = assertion({subject: 's:2', value: 2})
    fail(true)
    await expect(obs.insertDetailed([r2])).rejects.toThrow('no space left')
    fail(false)
    expect(await obs.insertDetailed([r2])).toMatchObject({added: 0, present: 1})
    expect(got).toEqual([{records: [], entries: [], lost: expect.stringContaining('failed part way')}])
    // The stream's place is the journal's fresh start: a reconnect from it resumes exactly.
    const mark = obs.position()
    expect(mark).toMatch(/^begin-/)
    const r3 = assertion({subject: 's:3', value: 3})
    await obs.insertDetailed([r3])
    const back = await obs.subscribe(() => undefined, mark)
    expect(back.missed).toMatchObject({entries: [{id: r3.record.id}]})
    open.close()
    back.close()
  })

  it('within the resume window after the last stream closed, a counts-only write is journalled, older stamp and all', async () => {
    const obs = new ObservedStore(new MemoryStore(), () => undefined, {resumeMs: 60_000})
    const a = await obs.subscribe(() => undefined)
    a.close()
    const old = assertion({subject: 's:old', value: 0, hlc: stamp(1_600_000_000_000, 0)})
    await obs.forRequest(false).store.insert([old])
    const back = await obs.subscribe(() => undefined, a.position)
    expect(back.missed).toMatchObject({entries: [{id: old.record.id, subject: 's:old'}]})
    back.close()
  })
})

describe('Journal', () => {
  it('resumes from any record it holds or its start, and from nothing it dropped or did not see', () => {
    const j = new Journal({records: 3, bytes: 1 << 20})
    const start = j.position()
    const rs = [1, 2, 3, 4].map((v) => assertion({subject: `s:${v}`, value: v}).record)
    expect(j.since(start)).toEqual({entries: []})
    j.append(rs.slice(0, 2))
    expect(j.since(start)).toMatchObject({entries: [{id: rs[0].id}, {id: rs[1].id}]})
    expect(j.since(rs[0].id)).toMatchObject({entries: [{id: rs[1].id}]})
    expect(j.position()).toBe(rs[1].id)
    j.append(rs.slice(2))
    // Four records, three kept: the first and the start are gone.
    expect(j.size).toBe(3)
    expect(j.since(start)).toMatchObject({lost: expect.stringContaining('3 records')})
    expect(j.since(rs[0].id)).toMatchObject({lost: expect.any(String)})
    expect(j.since(rs[1].id)).toMatchObject({entries: [{id: rs[2].id}, {id: rs[3].id}]})
    j.gap()
    expect(j.since(rs[3].id)).toMatchObject({lost: expect.any(String)})
    expect(j.position()).toMatch(/^begin-/)
    expect(j.position()).not.toBe(start)
  })

  it('keeps the newest record even when it alone is over the byte bound', () => {
    const j = new Journal({records: 10, bytes: 10})
    const r = assertion({subject: 's:big', value: 'x'.repeat(1000)}).record
    j.append([assertion({subject: 's:a', value: 1}).record, r])
    expect(j.size).toBe(1)
    expect(j.position()).toBe(r.id)
  })
})
