/**
 * Clocks: a peer whose clock runs 3 hours ahead can neither push nor serve records stamped past
 * the skew bound (each refused and counted, nothing stored, no clock dragged forward); and a
 * store's HLC never goes backwards across restarts, even when the wall clock does.
 */
import {mkdirSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {initHash} from '../../src/core/hash.js'
import {Hlc, formatHlc, parseHlc} from '../../src/core/hlc.js'
import type {RecordBody} from '../../src/core/record.js'
import {seal, type Sealed} from '../../src/core/seal.js'
import {openRuntime, openStore} from '../../src/runtime.js'
import {runSync} from '../../src/sync/client.js'
import {Receiver} from '../../src/sync/receive.js'
import {createSyncHandler} from '../../src/sync/server.js'
import {loopbackTransport} from '../../src/sync/transports/loopback.js'
import {report} from '../helpers/report.js'
import {allIds, keyFor, makeRecords, memoryWith} from '../sync/helpers.js'

const HOURS_3 = 3 * 3_600_000
const SKEW = 60_000

beforeAll(() => initHash())

/** `n` assertions stamped by a clock that runs `aheadMs` fast. */
function fromFastClock(n: number, aheadMs: number): Sealed[] {
  const key = keyFor(40)
  const clock = new Hlc(undefined, () => Date.now() + aheadMs)
  return Array.from({length: n}, (_, i) => seal({v: 1, kind: 'assertion', agent: key.publicHex, hlc: clock.tick(), subject: `s:fast:${i}`, predicate: 'p', value: i, confidence: 0.5} as RecordBody, key))
}

const deps = (store: MemoryStore, clock = new Hlc(undefined)) => ({store, clock, saveClock: async () => {}, skewMs: SKEW})
const wallOf = (stamp: string) => parseHlc(stamp).wall

describe('a peer whose clock is 3 hours ahead', () => {
  it('cannot push records stamped past the skew bound: refused, counted, nothing stored, no clock dragged', async () => {
    const ahead = fromFastClock(40, HOURS_3)
    const honest = await makeRecords(20, {tag: 'honest-push'})
    const server = new MemoryStore()
    const serverClock = new Hlc(undefined)
    const handler = createSyncHandler(deps(server, serverClock))
    const s = await runSync(deps(await memoryWith([...ahead, ...honest])), loopbackTransport('server', handler), {mode: 'push', threads: 0})
    expect(s.remoteResult.rejected).toBe(40)
    expect(s.remoteResult.added).toBe(20)
    expect(s.errors.filter((e) => e.where === 'remote').every((e) => /hlc: .*in the future/.test(e.reason))).toBe(true)
    expect(await allIds(server)).toEqual(honest.map((r) => r.record.id).sort())
    expect(wallOf(serverClock.current())).toBeLessThan(Date.now() + SKEW)
    report({suite: 'clock 3 h ahead (push)', faults: 40, inputs: 60, invalidStored: (await allIds(server)).length - 20, lost: 0, crashes: 0})
  })

  it('cannot serve them either: the puller refuses and counts them, keeps the honest ones', async () => {
    const ahead = fromFastClock(40, HOURS_3)
    const honest = await makeRecords(20, {tag: 'honest-pull'})
    const handler = createSyncHandler(deps(await memoryWith([...ahead, ...honest])))
    const local = new MemoryStore()
    const clock = new Hlc(undefined)
    const s = await runSync(deps(local, clock), loopbackTransport('fast-peer', handler), {mode: 'pull', threads: 0})
    expect(s.local.rejected).toBe(40)
    expect(s.local.added).toBe(20)
    expect(await allIds(local)).toEqual(honest.map((r) => r.record.id).sort())
    expect(wallOf(clock.current())).toBeLessThan(Date.now() + SKEW)
    report({suite: 'clock 3 h ahead (pull)', faults: 40, inputs: 60, invalidStored: (await allIds(local)).length - 20, lost: 0, crashes: 0})
  })

  it('a peer just inside the bound is accepted, and moves the clock past its stamps', async () => {
    const near = fromFastClock(5, SKEW / 2)
    const clock = new Hlc(undefined)
    const s = await runSync(deps(new MemoryStore(), clock), loopbackTransport('near', createSyncHandler(deps(await memoryWith(near)))), {mode: 'pull', threads: 0})
    expect(s.local.added).toBe(5)
    expect(clock.tick() > near[4].record.hlc).toBe(true)
  })
})

describe('the HLC across restarts (a real DuckDB store)', () => {
  let dir: string
  let store: string
  const env = () => ({...process.env, XDG_CONFIG_HOME: join(dir, 'cfg')})
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'steme-clock-'))
    mkdirSync(join(dir, '.steme'))
    store = join(dir, '.steme', 'store.duckdb')
    await (await openStore(store, {create: true})).close()
  })
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('never issues a stamp at or below one issued or received before, when the wall clock jumps back', async () => {
    const stamps: string[] = []
    const now = Date.now()
    // Run 1: ticks, then takes in a record from a peer 30 s ahead (inside the skew bound).
    let rt = await openRuntime({store, env: env(), now: () => now})
    for (let i = 0; i < 5; i++) stamps.push(rt.clock.tick())
    const peer = fromFastClock(1, 30_000)
    const rcv = new Receiver({store: rt.store, clock: rt.clock, saveClock: () => rt.saveClock(), skewMs: SKEW}, {threads: 0})
    expect((await rcv.take([JSON.stringify(peer[0].record)])).added).toBe(1)
    await rcv.close()
    stamps.push(peer[0].record.hlc)
    await rt.close()
    // Runs 2..4: the wall clock now reads an hour earlier, then a day earlier, then the epoch.
    for (const back of [3_600_000, 86_400_000, now]) {
      rt = await openRuntime({store, env: env(), now: () => now - back})
      const t = rt.clock.tick()
      expect(t > stamps[stamps.length - 1], `after a jump back of ${back} ms: ${t} <= ${stamps[stamps.length - 1]}`).toBe(true)
      stamps.push(t)
      await rt.close()
    }
    expect([...stamps].sort()).toEqual(stamps)
  })

  it('resumes above stored records even when the saved clock was never written (a crash)', async () => {
    // A record stamped ahead of the saved clock lands in the file without the runtime (as if the
    // process died between insert and saveClock).
    const s = await openStore(store)
    const [late] = fromFastClock(1, 45_000)
    await s.insert([late])
    await s.close()
    const rt = await openRuntime({store, env: env(), now: () => 0})
    const t = rt.clock.tick()
    await rt.close()
    expect(t > late.record.hlc).toBe(true)
    expect(wallOf(t)).toBe(wallOf(late.record.hlc))
    expect(formatHlc(parseHlc(t))).toBe(t)
  })
})
