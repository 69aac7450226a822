import {randomBytes} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {IdIndex, IdList} from '../../src/sync/ids.js'

const hexIds = (n: number) => Array.from({length: n}, () => randomBytes(32).toString('hex'))

describe('id lists as bytes', () => {
  it('round-trips hex, concatenates, and refuses a partial id', () => {
    const ids = hexIds(5)
    const list = IdList.fromHex(ids)
    expect(list.count).toBe(5)
    expect(list.toHex()).toEqual(ids)
    expect(list.hex(3)).toBe(ids[3])
    expect(IdList.concat([list, IdList.fromHex(ids.slice(0, 2)), IdList.empty]).toHex()).toEqual([...ids, ...ids.slice(0, 2)])
    expect(() => new IdList(new Uint8Array(64 + 5))).toThrow(/not a whole number of ids/)
    expect(() => IdList.fromHex(['0'.repeat(63)])).toThrow(/not a hex id/)
  })

  it('finds exactly the ids of the list, and marks which of its entries were probed', () => {
    const mine = hexIds(3000)
    const others = hexIds(500)
    const index = new IdIndex(IdList.fromHex(mine))
    // Theirs: every third of mine, twice over (a peer may repeat ids), and ids we do not hold.
    const theirs = IdList.fromHex([...mine.filter((_, i) => i % 3 === 0), ...mine.filter((_, i) => i % 3 === 0), ...others])
    const found: string[] = []
    const missing: string[] = []
    for (let i = 0; i < theirs.count; i++) (index.probe(theirs.bytes, i * 32) ? found : missing).push(theirs.hex(i))
    expect(missing).toEqual(others)
    expect(new Set(found)).toEqual(new Set(mine.filter((_, i) => i % 3 === 0)))
    expect([...index.seen].map((s, i) => (s ? i : -1)).filter((i) => i >= 0)).toEqual(mine.map((_, i) => i).filter((i) => i % 3 === 0))
  })

  it('keeps one entry of a repeated id, and answers ids that share long prefixes with ours', () => {
    const base = randomBytes(32)
    // Ids equal to ours in all but the last byte: the same hash slot words, different ids.
    const near = Array.from({length: 64}, (_, i) => {
      const b = Buffer.from(base)
      b[31] = i
      return b.toString('hex')
    })
    const index = new IdIndex(IdList.fromHex([near[0], near[1], near[0]]))
    // The repeat counts as seen from the start: an id the peer lacks is reported once.
    expect([...index.seen]).toEqual([0, 0, 1])
    expect(index.probe(Buffer.from(near[1], 'hex'), 0)).toBe(true)
    for (const h of near.slice(2)) expect(index.probe(Buffer.from(h, 'hex'), 0)).toBe(false)
    expect([...index.seen]).toEqual([0, 1, 1])
    expect(index.probe(Buffer.from(near[0], 'hex'), 0)).toBe(true)
    expect([...index.seen]).toEqual([1, 1, 1])
  })
})
