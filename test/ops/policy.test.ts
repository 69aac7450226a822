/** The local trust policy's rules: whose retractions and epochs count, and the reads supersession across subjects costs. */
import {beforeAll, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {initHash} from '../../src/core/hash.js'
import type {Retract} from '../../src/core/record.js'
import {firstHonoured, gatherContext, gatherPolicy, honours, trustedHere, type Policy} from '../../src/ops/context.js'
import {assertion, record, stamp, testKey} from '../helpers/records.js'

beforeAll(() => initHash())

const [self, pre, trusted, stranger, author] = [1, 2, 3, 4, 5].map((n) => testKey(n).publicHex)
const policy: Policy = {
  self,
  pretrusted: [self, pre],
  scores: new Map([
    [trusted, {score: 0.85, tier: 'trusted'}],
    [stranger, {score: 0.1, tier: 'newcomer'}],
  ]) as Policy['scores'],
}
const retraction = (agent: string, fields: Partial<Retract>, hlc = stamp()): Retract => ({v: 1, kind: 'retract', agent, hlc, id: `${agent.slice(0, 8)}${hlc}`, sig: '', ...fields}) as Retract

describe('honours', () => {
  it('takes the word of the own key, pre-trusted and trusted agents on anyone\'s records, and any agent on its own', () => {
    for (const a of [self, pre, trusted]) expect(trustedHere(policy, a)).toBe(true)
    expect(trustedHere(policy, stranger)).toBe(false)
    expect(honours(policy, retraction(stranger, {target: 'x'}), author)).toBe(false)
    expect(honours(policy, retraction(stranger, {target: 'x'}), stranger)).toBe(true)
    expect(honours(policy, retraction(trusted, {target: 'x'}), author)).toBe(true)
  })

  it('a source retraction is honoured per record: the first honoured for its author', () => {
    const byStranger = retraction(stranger, {source: 'lab:1'}, stamp(1_700_000_000_000, 1))
    const bySelf = retraction(self, {source: 'lab:1'}, stamp(1_700_000_000_000, 2))
    expect(firstHonoured([byStranger, bySelf], policy, stranger)).toBe(byStranger)
    expect(firstHonoured([byStranger, bySelf], policy, author)).toBe(bySelf)
    expect(firstHonoured([byStranger], policy, author)).toBeUndefined()
    expect(firstHonoured(undefined, policy, author)).toBeUndefined()
  })
})

describe('epochs in the policy', () => {
  it('count from the own key, pre-trusted and trusted agents; the rest are set aside as ignored', async () => {
    const store = new MemoryStore()
    const [k1, k2, k3, k4] = [1, 2, 3, 4].map((n) => testKey(n))
    await store.insert([
      record({kind: 'trust', target: k3.publicHex, weight: 1}, k1),
      record({kind: 'epoch', name: 'own', starts: '2024-01-01'}, k1),
      record({kind: 'epoch', name: 'pre', starts: '2024-02-01'}, k2),
      record({kind: 'epoch', name: 'endorsed', starts: '2024-03-01'}, k3),
      record({kind: 'epoch', name: 'stranger', starts: '2024-04-01'}, k4),
    ])
    const {epochs, ignoredEpochs} = await gatherPolicy({store, config: {...DEFAULT_CONFIG, pretrusted: [k2.publicHex]}}, {self: k1.publicHex})
    expect(epochs.map((e) => e.name).sort()).toEqual(['endorsed', 'own', 'pre'])
    expect(ignoredEpochs.map((e) => e.name)).toEqual(['stranger'])
    // With no key, only the config's pre-trusted agents (and whom they endorse) count.
    const keyless = await gatherPolicy({store, config: {...DEFAULT_CONFIG, pretrusted: [k2.publicHex]}}, {})
    expect(keyless.epochs.map((e) => e.name)).toEqual(['pre'])
  })
})

describe('supersession across subjects', () => {
  async function setup() {
    const store = new MemoryStore()
    const bob = testKey(2)
    const old = assertion({subject: 's:2', predicate: 'q', value: 'old', hlc: stamp(1_700_000_000_000, 1)}, bob)
    const newer = assertion({subject: 's:1', predicate: 'p', value: 'new', source: 'lab:9', supersedes: [old.record.id], hlc: stamp(1_700_000_000_001, 1)}, bob)
    await store.insert([old, newer])
    let referencing = 0
    const inner = store.referencing.bind(store)
    store.referencing = async (ids) => {
      referencing++
      return inner(ids)
    }
    const deps = {store, config: DEFAULT_CONFIG}
    const context = async () => gatherContext(deps, await store.assertions('s:2', 'q'), {now: Date.now(), self: testKey(1).publicHex})
    return {store, old, newer, context, reads: () => referencing}
  }

  it('takes the superseded assertion out of its own pair, with one more read only for the superseder\'s retractions', async () => {
    const {old, newer, context, reads} = await setup()
    const ctx = await context()
    expect(ctx.superseded.get(old.record.id)).toBe(newer.record.id)
    expect(reads()).toBe(2)
  })

  it('a superseder retracted by its source supersedes nothing', async () => {
    const {store, old, context} = await setup()
    await store.insert([record({kind: 'retract', source: 'lab:9'}, testKey(1))])
    expect((await context()).superseded.has(old.record.id)).toBe(false)
  })

  it('a superseder that another candidate of the pair stands on still supersedes', async () => {
    const {store, old, newer} = await setup()
    const cites = assertion({subject: 's:2', predicate: 'q', value: 'derived', evidence: [newer.record.id], hlc: stamp(1_700_000_000_002, 1)}, testKey(3))
    await store.insert([cites])
    const ctx = await gatherContext({store, config: DEFAULT_CONFIG}, await store.assertions('s:2', 'q'), {now: Date.now(), self: testKey(1).publicHex})
    expect(ctx.superseded.get(old.record.id)).toBe(newer.record.id)
    // Retracted, it supersedes nothing, and what stands on it falls with it.
    await store.insert([record({kind: 'retract', target: newer.record.id}, testKey(2))])
    const after = await gatherContext({store, config: DEFAULT_CONFIG}, await store.assertions('s:2', 'q'), {now: Date.now(), self: testKey(1).publicHex})
    expect(after.superseded.has(old.record.id)).toBe(false)
    expect(after.retracted.has(cites.record.id)).toBe(true)
  })

  it('a query with no superseder elsewhere reads what it read before: one referencing lookup', async () => {
    const store = new MemoryStore()
    await store.insert([assertion({subject: 's:9', predicate: 'q', value: 1})])
    let reads = 0
    const inner = store.referencing.bind(store)
    store.referencing = async (ids) => {
      reads++
      return inner(ids)
    }
    await gatherContext({store, config: DEFAULT_CONFIG}, await store.assertions('s:9', 'q'), {now: Date.now()})
    expect(reads).toBe(1)
  })
})
