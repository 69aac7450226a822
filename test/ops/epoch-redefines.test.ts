/** What `steme epoch` says it takes over: only a declaration that defined the name in the viewer's queries. */
import {beforeAll, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {initHash} from '../../src/core/hash.js'
import {Hlc} from '../../src/core/hlc.js'
import type {Deps} from '../../src/ops/deps.js'
import {epochOp} from '../../src/ops/epoch.js'
import {record, stamp, testKey} from '../helpers/records.js'

const me = testKey(1)
const mallory = testKey(6)
const WALL = 1_700_000_000_000
const deps = (store: MemoryStore): Deps => ({store, clock: new Hlc(undefined), config: {...DEFAULT_CONFIG}, key: () => me, saveClock: async () => undefined})

beforeAll(() => initHash())

describe('epoch redefines', () => {
  it("names no declaration by an agent not trusted here: it never defined the name, so the new one changes what the lenses see", async () => {
    const store = new MemoryStore()
    await store.insert([record({kind: 'epoch', name: 'q3', starts: '2026-07-01', hlc: stamp(WALL, 0)}, mallory)])
    const res = await epochOp(deps(store), {name: 'q3', starts: '2026-07-01'})
    // Before, this said mallory's q3 was taken over, "the same start: nothing changes for the lenses".
    expect(res.redefines).toBeUndefined()
  })

  it('names no declaration its author retracted, and still names one that stands', async () => {
    const store = new MemoryStore()
    const gone = record({kind: 'epoch', name: 'q3', starts: '2026-07-01', hlc: stamp(WALL, 0)}, me)
    await store.insert([gone, record({kind: 'retract', target: gone.record.id, hlc: stamp(WALL + 1000, 0)}, me)])
    expect((await epochOp(deps(store), {name: 'q3', starts: '2026-07-01'})).redefines).toBeUndefined()
    const second = await epochOp(deps(store), {name: 'q3', starts: '2026-08-01'})
    expect(second.redefines?.starts).toBe('2026-07-01')
    expect(second.redefines?.id).not.toBe(gone.record.id)
  })

  it('names none when the new declaration is signed by a key the viewer does not trust: that one is set aside', async () => {
    const store = new MemoryStore()
    await store.insert([record({kind: 'epoch', name: 'q3', starts: '2026-07-01', hlc: stamp(WALL, 0)}, me)])
    const res = await epochOp({...deps(store), key: () => mallory}, {name: 'q3', starts: '2027-01-01', viewer: me.publicHex})
    expect(res.trusted).toBe(false)
    expect(res.redefines).toBeUndefined()
  })
})
