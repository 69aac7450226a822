/** The pure semantics under the lenses: the retraction cascade, cycle detection, EigenTrust tiers, truth discovery. */
import {describe, expect, it} from 'vitest'
import {cascade, explainRetraction, findCycle} from '../../src/lenses/cascade.js'
import {discoverTruth, effectiveQuality, elementsOf, partialClaims, weighClaims} from '../../src/lenses/truth-discovery.js'
import {trustScores} from '../../src/lenses/trust-scores.js'
import {LENSES} from '../../src/lenses/registry.js'
import type {LensContext, RetractionWhy} from '../../src/lenses/types.js'
import {record, stamp, testKey} from '../helpers/records.js'
import type {Assertion, Trust} from '../../src/core/record.js'

const why: RetractionWhy = {by: 'target', retraction: 'r'.repeat(64), agent: 'a'.repeat(64)}

describe('retraction cascade (truth maintenance)', () => {
  it('retracts a derived assertion only when every piece of its evidence is retracted', () => {
    const nodes = [
      {id: 'd1', evidence: ['r1']},
      {id: 'd2', evidence: ['r1', 'r2']},
      {id: 'd3', evidence: ['d1']},
      {id: 'd4', evidence: ['d2', 'd1']},
    ]
    const out = cascade(nodes, new Map([['r1', why]]))
    expect([...out.keys()].sort()).toEqual(['d1', 'd3', 'r1'])
    const both = cascade(nodes, new Map([['r1', why], ['r2', why]]))
    expect([...both.keys()].sort()).toEqual(['d1', 'd2', 'd3', 'd4', 'r1', 'r2'])
    expect(both.get('d4')).toEqual({by: 'evidence', evidence: ['d2', 'd1']})
  })

  it('evidence outside the graph counts as standing', () => {
    const out = cascade([{id: 'd', evidence: ['r1', 'elsewhere']}], new Map([['r1', why]]))
    expect(out.has('d')).toBe(false)
  })

  it('counts an evidence id listed twice once', () => {
    const out = cascade([{id: 'd', evidence: ['r1', 'r1']}], new Map([['r1', why]]))
    expect(out.has('d')).toBe(true)
  })

  it('handles a long chain without recursion limits', () => {
    const n = 200_000
    const nodes = Array.from({length: n}, (_, i) => ({id: `n${i + 1}`, evidence: [`n${i}`]}))
    const out = cascade(nodes, new Map([['n0', why]]))
    expect(out.size).toBe(n + 1)
    expect(findCycle(nodes)).toBeUndefined()
  })

  it('finds a cycle in evidence links and names its ids', () => {
    expect(findCycle([{id: 'a', evidence: ['b']}, {id: 'b', evidence: ['c']}, {id: 'c', evidence: ['a']}])).toEqual(['a', 'b', 'c', 'a'])
    expect(findCycle([{id: 'a', evidence: ['b']}, {id: 'b'}])).toBeUndefined()
  })

  it('explains the chain from a derived assertion up to the retraction', () => {
    const out = cascade([{id: 'm'.repeat(64), evidence: ['r'.repeat(64)]}], new Map([['r'.repeat(64), {by: 'source', retraction: 'x'.repeat(64), agent: 'a'.repeat(64), source: 'lab:1', reason: 'bad'} as RetractionWhy]]))
    const lines = explainRetraction('m'.repeat(64), out)
    expect(lines[0]).toContain('all 1 of its evidence is retracted')
    expect(lines[1]).toContain('cites source "lab:1"')
    expect(lines[1]).toContain(': bad')
  })
})

describe('trust scores (EigenTrust from the pre-trusted set)', () => {
  const [me, a, b, c] = [1, 2, 3, 4].map((n) => testKey(n))
  const t = (from: typeof me, to: typeof me, weight: number, wall?: number) => record({kind: 'trust', target: to.publicHex, weight, ...(wall ? {hlc: `${wall.toString(16).padStart(16, '0')}-0000`} : {})}, from).record as Trust

  // Scoring reads no signature: agents as bare hex ids, so that ten thousand cost no key making.
  const hex = (n: number) => n.toString(16).padStart(64, '0')
  const bare = (from: string, to: string, i: number) => ({v: 1, kind: 'trust', agent: from, target: to, weight: 1, hlc: stamp(1_700_000_000_000, 0), id: hex(1e9 + i)}) as unknown as Trust

  it('gives the pre-trusted set authority and decays trust along endorsements', () => {
    const s = trustScores([t(me, a, 1), t(a, b, 1), t(b, c, 0.2)], [me.publicHex])
    expect(s.get(me.publicHex)!.tier).toBe('authority')
    expect(s.get(me.publicHex)!.score).toBe(1)
    const [sa, sb, sc] = [a, b, c].map((k) => s.get(k.publicHex)!)
    expect(sa.score).toBeGreaterThan(sb.score)
    expect(sb.score).toBeGreaterThan(sc.score)
    expect(sa.tier).toBe('trusted')
    expect(sc.tier).toBe('newcomer')
    expect(sa.endorsedBy).toEqual([{agent: me.publicHex, weight: 1}])
  })

  it('a full endorsement gives 0.85 and each further hop 0.85 times its weight, as documented', () => {
    const s = trustScores([t(me, a, 1), t(a, b, 1), t(b, c, 0.2)], [me.publicHex])
    expect(s.get(a.publicHex)!.score).toBeCloseTo(0.85, 9)
    expect(s.get(b.publicHex)!.score).toBeCloseTo(0.85 ** 2, 9)
    expect(s.get(c.publicHex)!.score).toBeCloseTo(0.85 ** 3 * 0.2, 9)
  })

  it('agents endorsing each other in a ring do not lift their own scores', () => {
    // Endorsed at 0.3 by the store's key: 0.255, tier established, whatever b says of a.
    const s = trustScores([t(me, a, 0.3), t(a, b, 1), t(b, a, 1)], [me.publicHex])
    expect(s.get(a.publicHex)!.score).toBeCloseTo(0.85 * 0.3, 9)
    expect(s.get(b.publicHex)!.score).toBeCloseTo(0.85 * 0.3 * 0.85, 9)
    expect(s.get(a.publicHex)!.tier).toBe('established')
    expect(s.get(b.publicHex)!.tier).toBe('established')
    // A ring of three: its members keep the product along the one way in. One agent c endorses
    // beyond the ring is reached from c, and again each time a walk comes round (c -> a -> b -> c).
    const d = testKey(5)
    const r = trustScores([t(me, a, 0.3), t(a, b, 1), t(b, c, 1), t(c, a, 0.5), t(c, d, 0.5)], [me.publicHex])
    expect(r.get(a.publicHex)!.score).toBeCloseTo(0.255, 9)
    expect(r.get(c.publicHex)!.score).toBeCloseTo(0.255 * 0.85 ** 2, 9)
    expect(r.get(d.publicHex)!.score).toBeCloseTo((0.255 * 0.85 ** 2 * 0.425) / (1 - 0.425 * 0.85 ** 2), 9)
  })

  it('a long ring is walked exactly: its members keep the trust of the one way in', () => {
    // 3,000 agents each endorsing the next, the last the first. The budget used to be counted as
    // if every walk covered the whole ring each step, so these walks were cut before their first
    // step and the ring's first agent scored 0.033 (newcomer), not 0.255 (established).
    const ring = Array.from({length: 3000}, (_, i) => hex(1e6 + i))
    const ends = ring.map((k, i) => bare(k, ring[(i + 1) % ring.length], i))
    const s = trustScores([{...t(me, a, 0.3), target: ring[0]}, ...ends], [me.publicHex])
    expect(s.get(ring[0])!.score).toBeCloseTo(0.255, 9)
    expect(s.get(ring[0])!.tier).toBe('established')
    expect(s.get(ring[1])!.score).toBeCloseTo(0.255 * 0.85, 9)
  })

  it('rings no trusted agent reaches cost no walks, however many arrive by sync', () => {
    // 65 rings of 153 agents nobody trusted endorses: they took seconds of every query to score 0.
    const rings = Array.from({length: 65}, (_, r) => Array.from({length: 153}, (_, i) => hex(1e6 + r * 153 + i)))
    const ends = rings.flatMap((ring, r) => ring.map((k, i) => bare(k, ring[(i + 1) % ring.length], r * 153 + i)))
    const stats = {returnSteps: -1}
    const s = trustScores([t(me, a, 1), t(a, b, 1), t(b, a, 1), ...ends], [me.publicHex], {stats})
    expect(s.get(rings[0][0])!.score).toBe(0)
    expect(s.get(a.publicHex)!.score).toBeCloseTo(0.85, 9)
    // Only a <-> b is walked: two walks, each a few hundred steps round the pair.
    expect(stats.returnSteps).toBeGreaterThan(0)
    expect(stats.returnSteps).toBeLessThan(2000)
  })

  it("one work budget bounds every ring's walks, spent on the most trusted rings first", () => {
    // A ring the store's key endorses fully, and 40 rings reached only through an agent endorsed
    // at 0.01: a budget for a dozen of them is spent on the trusted ring first, then the others.
    const hostile = Array.from({length: 40}, (_, r) => [testKey(20_000 + 2 * r), testKey(20_001 + 2 * r)])
    const x = testKey(30_000)
    const records = [t(me, a, 1), t(a, b, 1), t(b, a, 1), t(me, x, 0.01), ...hostile.flatMap(([p, q]) => [t(x, p, 0.025), t(p, q, 1), t(q, p, 1)])]
    const exact = trustScores(records, [me.publicHex])
    const stats = {returnSteps: 0}
    const s = trustScores(records, [me.publicHex], {budget: 100, stats})
    expect(stats.returnSteps).toBeLessThanOrEqual(100)
    expect(s.get(a.publicHex)!.score).toBe(exact.get(a.publicHex)!.score)
    expect(s.get(b.publicHex)!.score).toBe(exact.get(b.publicHex)!.score)
    const members = hostile.flat().map((k) => k.publicHex)
    for (const p of members) {
      expect(s.get(p)!.score).toBeGreaterThan(0)
      expect(s.get(p)!.score).toBeLessThanOrEqual(exact.get(p)!.score)
    }
    // Each pair's two walks take 8 steps: a dozen pairs are walked, the others bounded.
    expect(members.filter((p) => s.get(p)!.score < exact.get(p)!.score).length).toBeGreaterThan(50)
  })

  it('independent endorsement paths add up', () => {
    const s = trustScores([t(me, a, 0.5), t(me, b, 0.5), t(a, c, 1), t(b, c, 1)], [me.publicHex])
    expect(s.get(c.publicHex)!.score).toBeCloseTo(2 * 0.85 * 0.5 * 0.85, 9)
  })

  it('ignores endorsements no trusted agent reaches', () => {
    const s = trustScores([t(a, b, 1)], [me.publicHex])
    expect(s.get(b.publicHex)!.score).toBe(0)
    expect(s.get(b.publicHex)!.tier).toBe('newcomer')
  })

  it('the latest endorsement per pair counts, and weight 0 withdraws it', () => {
    const s = trustScores([t(me, a, 1, 1_700_000_000_000), t(me, a, 0, 1_700_000_001_000)], [me.publicHex])
    expect(s.get(a.publicHex)?.score ?? 0).toBe(0)
  })

  it('with no pre-trusted agent nobody has trust', () => {
    const s = trustScores([t(a, b, 1)], [])
    expect([...s.values()].every((x) => x.score === 0)).toBe(true)
  })
})

describe('truth discovery', () => {
  it('treats arrays as sets of elements and other values as one element', () => {
    expect(elementsOf(['a', 'b', 'a'])).toEqual(['"a"', '"b"'])
    expect(elementsOf({x: 1})).toEqual(['{"x":1}'])
  })

  it('learns that a witness agreeing with the others is more reliable than one that never does', () => {
    const claims = []
    for (let i = 0; i < 10; i++) {
      for (const w of ['good:1', 'good:2', 'good:3']) claims.push({object: `o${i}`, witness: w, value: i})
      claims.push({object: `o${i}`, witness: 'noise', value: 100 + i})
    }
    const r = discoverTruth(claims)
    expect(r.converged).toBe(true)
    const good = r.quality.get('good:1')!
    const noise = r.quality.get('noise')!
    expect(good.sensitivity).toBeGreaterThan(0.9)
    expect(noise.falsePositive).toBeGreaterThan(good.falsePositive)
    expect(noise.sensitivity).toBeLessThan(good.sensitivity)
  })

  it('calls a claim partial when another claim on the object names strictly more', () => {
    const sets = [[1, 0, 0], [1, 1, 0], [1, 1, 0], [0, 0, 1], [1, 1, 1]]
    expect(partialClaims(sets)).toEqual([true, true, true, true, false])
    // Equal sets are not partial to each other, and neither is a set to one it only overlaps.
    expect(partialClaims([[1, 1, 0], [1, 1, 0], [0, 1, 1]])).toEqual([false, false, false])
    expect(partialClaims([])).toEqual([])
  })

  it('learns how often a witness truncates apart from how complete it is otherwise', () => {
    const claims = []
    for (let i = 0; i < 10; i++) {
      // One-element objects: everyone complete. Two-element objects: "first" names only the first.
      for (const w of ['full:1', 'full:2', 'first']) claims.push({object: `one${i}`, witness: w, value: [`a${i}`]})
      for (const w of ['full:1', 'full:2']) claims.push({object: `two${i}`, witness: w, value: [`a${i}`, `b${i}`]})
      claims.push({object: `two${i}`, witness: 'first', value: [`a${i}`]})
    }
    const r = discoverTruth(claims)
    const first = r.quality.get('first')!
    const full = r.quality.get('full:1')!
    expect(first.partialSensitivity).toBeLessThan(0.6)
    expect(first.sensitivity).toBeGreaterThan(0.9)
    expect(full.sensitivity).toBeGreaterThan(0.9)
    // A witness with no partial claims keeps the pooled partial rate, not a guess of its own.
    expect(full.partialSensitivity).toBeCloseTo(r.pooled.partialSensitivity!, 1)
    // Its omissions on partial claims weigh less than on full ones.
    expect(effectiveQuality(first, true).sensitivity).toBe(first.partialSensitivity)
    expect(effectiveQuality(first, false).sensitivity).toBe(first.sensitivity)
  })

  it('finds witnesses that repeat each other\'s mistakes, and not independent ones that share the truth', () => {
    const claims = []
    for (let i = 0; i < 12; i++) {
      for (const w of ['ind:1', 'ind:2', 'ind:3', 'ind:4']) claims.push({object: `o${i}`, witness: w, value: `t${i}`})
      // feed is wrong on a third of the objects, and its copy repeats it every time.
      for (const w of ['feed', 'copy']) claims.push({object: `o${i}`, witness: w, value: i % 3 === 0 ? `x${i}` : `t${i}`})
    }
    const r = discoverTruth(claims)
    expect(r.quality.get('copy')!.copies?.feed).toBeGreaterThan(0.9)
    expect(r.quality.get('feed')!.copies?.copy).toBeGreaterThan(0.9)
    expect(r.quality.get('ind:1')!.copies).toBeUndefined()
    // Off, nobody is a copy.
    expect([...discoverTruth(claims, {copyDetection: false}).quality.values()].every((q) => q.copies === undefined)).toBe(true)
  })

  it('counts the best of a group of equal claims fully and each probable copy for less', () => {
    const obs = [
      {witness: 'b', key: 'x', weight: 1},
      {witness: 'a', key: 'x', weight: 1},
      {witness: 'c', key: 'x', weight: 1},
      {witness: 'd', key: 'y', weight: 1},
    ]
    const copies = new Map([
      ['a', new Map([['b', 1]])],
      ['b', new Map([['a', 1]])],
      ['d', new Map([['a', 1]])],
    ])
    const score = (w: string) => ({a: 0.9, b: 0.5, c: 0.7, d: 0.9})[w]!
    weighClaims(obs, copies, score, 0.8)
    const by = Object.fromEntries(obs.map((o) => [o.witness, o.weight]))
    // a is the most reliable of group x: full weight; b copies a: 1 - 0.8; c copies nobody: full.
    expect(by.a).toBe(1)
    expect(by.b).toBeCloseTo(0.2)
    expect(by.c).toBe(1)
    // d copies a, but makes another claim: nothing to discount.
    expect(by.d).toBe(1)
  })

  it('gives the same rates whatever the order of the claims', () => {
    const claims = [
      {object: 'a', witness: 'x', value: 1},
      {object: 'a', witness: 'y', value: 2},
      {object: 'b', witness: 'x', value: 3},
      {object: 'b', witness: 'y', value: 3},
      {object: 'b', witness: 'z', value: 4},
    ]
    expect(discoverTruth([...claims].reverse())).toEqual(discoverTruth(claims))
  })
})

describe('evidence cycles in a store', () => {
  it('a query over assertions whose evidence loops fails with an integrity error naming the ids', async () => {
    const {MemoryStore} = await import('../../src/adapters/memory.js')
    const {DEFAULT_CONFIG} = await import('../../src/config.js')
    const {queryOp} = await import('../../src/ops/query.js')
    const {UserError} = await import('../../src/core/errors.js')
    // Honest records cannot form a cycle (an id hashes the evidence it cites), so these are
    // forged: adapters store what they are given, and the query must still refuse cleanly.
    const a = 'a'.repeat(64)
    const b = 'b'.repeat(64)
    const forged = (id: string, evidence: string) => ({
      record: {v: 1, kind: 'assertion', agent: 'c'.repeat(64), hlc: '0000018bcfe56800-0000', subject: 's:x', predicate: 'p', value: id[0], confidence: 1, evidence: [evidence], id, sig: '0'.repeat(128)},
      canonical: '{}',
    })
    const store = new MemoryStore()
    await store.insert([forged(a, b), forged(b, a)] as never)
    const err = await queryOp({store, config: DEFAULT_CONFIG}, {subject: 's:x', predicate: 'p', lens: 'recency'}).catch((e) => e)
    expect(err).toBeInstanceOf(UserError)
    expect(err.exit).toBe(1)
    expect(err.message).toContain('evidence links form a cycle')
    expect(err.message).toContain(a.slice(0, 12))
  })
})

describe('a pair flooded with candidates', () => {
  // Math.max(...list) passes each element as an argument: past about 125,000 it overflows the
  // stack, and a query on a pair someone had flooded failed with an internal error.
  const hex = (n: number) => n.toString(16).padStart(64, '0')
  const flood = (n: number, value: (i: number) => number) =>
    Array.from({length: n}, (_, i) => ({v: 1, kind: 'assertion', id: hex(i + 1), agent: hex(1e9 + (i % 1000)), hlc: stamp(1_700_000_000_000 + i, 0), subject: 's', predicate: 'p', value: value(i), confidence: 1, source: `s:${i}`}) as unknown as Assertion)
  const ctx: LensContext = {now: 1_800_000_000_000, votes: [], retracted: new Map(), superseded: new Map(), epochs: [], trust: new Map(), params: {}}

  it('resolves 150,000 copies of one value, and 150,000 values, by recency and consensus', () => {
    const same = flood(150_000, () => 1)
    expect(LENSES.recency.lens(same, ctx, {}).winner?.value).toBe(1)
    const distinct = flood(150_000, (i) => i)
    expect(LENSES.recency.lens(distinct, ctx, {}).winner?.value).toBe(149_999)
    const c = LENSES.consensus.lens(distinct, ctx, {})
    expect(c.status).toBe('tie')
    expect(c.conflict).toBe(1)
  })
})
