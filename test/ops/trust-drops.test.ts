/** steme trust says when an endorsement drops others' tiers: a few named, the rest counted. */
import {expect, it} from 'vitest'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {Hlc} from '../../src/core/hlc.js'
import type {Deps} from '../../src/ops/deps.js'
import {trustOp} from '../../src/ops/trust.js'
import {testKey} from '../helpers/records.js'

it('names five agents whose tier an endorsement drops, then how many more', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'steme-trust-drops-'))
  const store = await DuckDBStore.open(join(dir, 'store.duckdb'))
  try {
    const as = (n: number): Deps => ({store, clock: new Hlc(undefined), config: DEFAULT_CONFIG, key: () => testKey(n), saveClock: async () => undefined})
    // The store's key endorses agent 10, which endorses 11, which endorses 12, and so on: a
    // chain of agents whose trust all comes through that one endorsement.
    expect((await trustOp(as(1), {agent: testKey(10).publicHex, weight: '0.95'})).warnings).toBeUndefined()
    for (let n = 10; n < 20; n++) await trustOp(as(n), {agent: testKey(n + 1).publicHex, weight: '1'})
    // A second full endorsement halves the first one's share: most of the chain drops a tier.
    const res = await trustOp(as(1), {agent: testKey(30).publicHex, weight: '1'})
    expect(res.warnings).toHaveLength(1)
    const w = res.warnings![0]
    expect(w.match(/ drops from /g)).toHaveLength(5)
    expect(w).toMatch(/\(\d\.\d{3} -> \d\.\d{3}\), and \d+ more, [0-9a-f]{12} itself stands at /)
  } finally {
    await store.close()
    rmSync(dir, {recursive: true, force: true})
  }
})

it('names five agents an endorsement raises to trusted, then how many more, since their old retractions now count', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'steme-trust-rises-'))
  const store = await DuckDBStore.open(join(dir, 'store.duckdb'))
  try {
    // Agents 2 to 8 are pre-trusted too, and each half-trusts one of 11 to 17 on its own.
    const config = {...DEFAULT_CONFIG, pretrusted: [2, 3, 4, 5, 6, 7, 8].map((n) => testKey(n).publicHex)}
    const as = (n: number): Deps => ({store, clock: new Hlc(undefined), config, key: () => testKey(n), saveClock: async () => undefined})
    for (let n = 11; n < 18; n++) await trustOp(as(n - 9), {agent: testKey(n).publicHex, weight: '0.5'})
    // Agent 10 endorses all seven; the store's key endorses 10 and 30 in full, so each has half its share.
    for (let n = 11; n < 18; n++) await trustOp(as(10), {agent: testKey(n).publicHex, weight: '1'})
    await trustOp(as(1), {agent: testKey(10).publicHex, weight: '1'})
    await trustOp(as(1), {agent: testKey(30).publicHex, weight: '1'})
    // Withdrawing 30 gives 10 its whole share back, and what 10 passes on tips the seven over.
    const res = await trustOp(as(1), {agent: testKey(30).publicHex, weight: '0'})
    expect(res.warnings).toHaveLength(1)
    const w = res.warnings![0]
    expect(w).toMatch(/^your endorsements now sum to 1, down from 2, so the others count for more \(docs\/lenses\.md, Trust\): /)
    expect(w.match(/ rises from established to trusted \(\d\.\d{3} -> \d\.\d{3}\)/g)).toHaveLength(5)
    expect(w).toContain(', and 3 more;')
    expect(w).not.toContain(testKey(30).publicHex.slice(0, 12))
    expect(w).toMatch(/; their retractions of others' records and epochs now count in your queries, older ones too \(`steme trust list`\)$/)
  } finally {
    await store.close()
    rmSync(dir, {recursive: true, force: true})
  }
})
