/**
 * Tampering through sync: a lying peer serves (on pull) or pushes every tamper variant (every
 * field of every kind changed, removed or nulled; single bits of id and sig flipped). Each one is
 * rejected with a reason and counted, the good records of the same batches are kept, and nothing
 * tampered is stored.
 */
import {beforeAll, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {initHash} from '../../src/core/hash.js'
import {recordLine, type Sealed} from '../../src/core/seal.js'
import type {Transport} from '../../src/core/transport.js'
import {runSync} from '../../src/sync/client.js'
import {createSyncHandler} from '../../src/sync/server.js'
import {T, decode, encode} from '../../src/sync/wire.js'
import {report} from '../helpers/report.js'
import {tamperSamples, tamperVariants} from '../helpers/tamper.js'
import {allIds, makeRecords, memoryWith, receiveDeps} from '../sync/helpers.js'

beforeAll(() => initHash())

/** Valid originals, and for each the tampered line a liar sends in its place (one variant per original). */
function victims(): {originals: Sealed[]; forged: Map<string, string>; names: string[]} {
  const originals: Sealed[] = []
  const forged = new Map<string, string>()
  const names: string[] = []
  const kinds = tamperSamples().length
  for (let k = 0; k < kinds; k++) {
    const count = tamperVariants(tamperSamples()[k]).length
    for (let v = 0; v < count; v++) {
      const fresh = tamperSamples()[k]
      const variant = tamperVariants(fresh)[v]
      originals.push(fresh)
      forged.set(fresh.record.id, JSON.stringify(variant.record))
      names.push(`${fresh.record.kind}: ${variant.name}`)
    }
  }
  return {originals, forged, names}
}

/** Swap the record lines of a message for their forgeries, leaving every other frame as it is. */
function forge(msg: Uint8Array, forged: Map<string, string>): Uint8Array {
  const frames = decode(msg).map((f) => {
    if (f.t !== T.Record) return f
    const id = (JSON.parse(f.line) as {id: string}).id
    return forged.has(id) ? {...f, line: forged.get(id)!} : f
  })
  return encode(frames)
}

describe('tampering through sync', () => {
  it('a peer serving every tamper variant on pull: each rejected with a reason, the good records kept', async () => {
    const {originals, forged, names} = victims()
    const good = await makeRecords(300, {tag: 'good'})
    const handler = createSyncHandler(receiveDeps(await memoryWith([...good, ...originals])))
    const liar: Transport = {remote: 'liar', request: async (m) => forge(await handler.handle(m), forged), close: async () => {}}
    const local = await memoryWith(good.slice(0, 100))
    const before = await allIds(local)
    const s = await runSync(receiveDeps(local), liar, {mode: 'pull', threads: 0})
    expect(s.local.rejected).toBe(names.length)
    expect(s.local.added).toBe(200)
    expect(s.errors.filter((e) => e.where === 'local').every((e) => e.reason.length > 0)).toBe(true)
    // Nothing tampered or half-stored: exactly what we had plus the good records served.
    expect(await allIds(local)).toEqual([...before, ...good.slice(100).map((r) => r.record.id)].sort())
    report({suite: 'tamper via sync (pull)', faults: names.length, inputs: names.length + 200, invalidStored: (await allIds(local)).length - 300, lost: 0, crashes: 0})
  })

  it('a client pushing every tamper variant: the server rejects each with a reason, keeps the good ones', async () => {
    const {originals, forged, names} = victims()
    const good = await makeRecords(300, {tag: 'pushed'})
    const remote = await memoryWith(good.slice(0, 50))
    const before = await allIds(remote)
    const handler = createSyncHandler(receiveDeps(remote))
    const liar: Transport = {remote: 'server', request: (m) => handler.handle(forge(m, forged)), close: async () => {}}
    const s = await runSync(receiveDeps(await memoryWith([...good, ...originals])), liar, {mode: 'push', threads: 0})
    expect(s.remoteResult.rejected).toBe(names.length)
    expect(s.remoteResult.added).toBe(250)
    const reasons = s.errors.filter((e) => e.where === 'remote')
    expect(reasons.length).toBeGreaterThan(0)
    for (const e of reasons) expect(e.reason).toMatch(/^[a-z_.]+[^:]*: .+/)
    expect(await allIds(remote)).toEqual([...before, ...good.slice(50).map((r) => r.record.id)].sort())
    for (const o of originals) expect((await remote.has([o.record.id])).size).toBe(0)
    report({suite: 'tamper via sync (push)', faults: names.length, inputs: names.length + 250, invalidStored: (await allIds(remote)).length - 300, lost: 0, crashes: 0})
  })

  it('the untampered originals do sync (the control)', async () => {
    const {originals} = victims()
    const local = new MemoryStore()
    const s = await runSync(receiveDeps(local), {remote: 'honest', ...honest(await memoryWith(originals))}, {mode: 'pull', threads: 0})
    expect(s.local.added).toBe(originals.length)
    expect(s.local.rejected).toBe(0)
    expect(recordLine(originals[0].canonical, originals[0].record.id, originals[0].record.sig)).toContain(originals[0].record.id)
  })
})

function honest(store: MemoryStore): Omit<Transport, 'remote'> {
  const h = createSyncHandler(receiveDeps(store))
  return {request: (m) => h.handle(m), close: () => h.close()}
}
