/** Convergence at scale (slow: signs 72,000 records and verifies the 60,000 that move). */
import {describe, expect, it} from 'vitest'
import {DAY, makeRecords, memoryWith, root, syncPair} from './helpers.js'

describe('convergence at scale', () => {
  // Sized for what the test exercises, not for its own sake: 60,000 records arrive in half a
  // dozen full responses (about 9,300 records each, two batches in flight at a time), and the
  // store's 72,000 ids pass 65,536 (the ids a reply reads ahead per store call, and the HLC
  // counters of these records wrap). Past that, more records only repeat the same rounds.
  // The local store also misses every 25th of its first 12,000: in those ranges both sides hold
  // records and differ by too few to list, so they are found by fingerprint descent (ranges split
  // and compared again), while the rest of the history is handed over whole. (Before, the local
  // store held its 20,000 in one piece: every range either matched or was handed over whole, and
  // no range was ever split.)
  it('60,000 records apart, plus 480 scattered through the history both hold', async () => {
    const big = await makeRecords(72_000, {tag: 'big', spanMs: 60 * DAY})
    const local = await memoryWith(big.slice(0, 12_000).filter((_, i) => i % 25 !== 0))
    const remote = await memoryWith(big)
    const s = await syncPair(local, remote, 'sync')
    expect(s.local.added).toBe(60_480)
    expect(await root(local)).toEqual(await root(remote))
    expect(s.localRoot.count).toBe(72_000)
  }, 300_000)
})
