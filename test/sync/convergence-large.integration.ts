/** Convergence at scale (slow: signs and verifies 120,000 records). */
import {describe, expect, it} from 'vitest'
import {DAY, makeRecords, memoryWith, root, syncPair} from './helpers.js'

describe('convergence at scale', () => {
  it('100,000 records apart', async () => {
    const big = await makeRecords(120_000, {tag: 'big', spanMs: 60 * DAY})
    const local = await memoryWith(big.slice(0, 20_000))
    const remote = await memoryWith(big)
    const s = await syncPair(local, remote, 'sync')
    expect(s.local.added).toBe(100_000)
    expect(await root(local)).toEqual(await root(remote))
    expect(s.localRoot.count).toBe(120_000)
  }, 300_000)
})
