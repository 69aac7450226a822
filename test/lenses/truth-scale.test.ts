/**
 * Truth discovery and the reliability lens at scale: the same answers as the quadratic reference
 * (bit for bit) on random claims, and a cost near-linear in the witnesses per subject, counted
 * in steps, for a flood of one value and for two floods that split a subject; and a subject
 * where every witness names a value of its own: exact up to EXACT_ELEMENTS elements, summed
 * sparsely past it, in proportion to the witnesses.
 */
import {describe, expect, it} from 'vitest'
import {formatHlc} from '../../src/core/hlc.js'
import type {Assertion, Json} from '../../src/core/record.js'
import {reliability, reliabilityLens, reliabilityModel} from '../../src/lenses/reliability.js'
import {discoverTruth, EXACT_ELEMENTS, partialClaims, partialLists, TRUTH_DEFAULTS, weighClaims, type Claim, type TruthStats} from '../../src/lenses/truth-discovery.js'
import type {LensContext, WitnessQuality} from '../../src/lenses/types.js'
import {witnessOf} from '../../src/lenses/values.js'
import {claimsOf, toTable} from '../../src/ops/reliability.js'
import {fc, test} from '../helpers/fc.js'
import {reliability as referenceReliability} from './reliability-reference.js'
import {discoverTruth as referenceDiscoverTruth, partialClaims as referencePartialClaims, weighClaims as referenceWeighClaims} from './truth-discovery-reference.js'

/** Scalars, lists, the same elements in other forms ("a" and ["a"], orders, repeats), the empty list. */
const VALUES: Json[] = ['a', 'b', 'c', 1, ['a'], ['a', 'b'], ['b', 'a'], ['a', 'b', 'c'], ['a', 'a'], ['b', 'c'], [], {k: 1}]

const ctx = (reliabilityTable?: ReadonlyMap<string, WitnessQuality>): LensContext => ({now: 0, votes: [], retracted: new Map(), superseded: new Map(), epochs: [], trust: new Map(), params: {}, ...(reliabilityTable ? {reliability: reliabilityTable} : {})})

const hex = (n: number) => n.toString(16).padStart(64, '0')

/** Assertions on one pair: each from an agent, citing a source or none (its witness), at an hlc. */
function assertions(rows: ReadonlyArray<{agent: number; source?: number; value: Json; tick: number}>, subject = 's:x'): Assertion[] {
  return rows.map((r, i) => ({
    v: 1,
    kind: 'assertion',
    agent: hex(r.agent + 1),
    hlc: formatHlc({wall: 1_700_000_000_000 + r.tick, counter: 0}),
    id: hex(0x1000_0000 + ((i * 7919) % 100_003) * 31 + i),
    subject,
    predicate: 'p',
    value: r.value,
    confidence: 0.9,
    ...(r.source !== undefined ? {source: `src:${r.source}`} : {}),
  }))
}

/** Claims on a few objects from a few witnesses, values drawn from VALUES. */
const claimsArb = fc.array(fc.record({object: fc.nat(5), witness: fc.nat(14), value: fc.constantFrom(...VALUES)}), {minLength: 1, maxLength: 80})

describe('truth discovery: the same answers as the quadratic reference', () => {
  test.prop([claimsArb, fc.boolean(), fc.boolean()], {numRuns: 150})('on random claims, rates, partial rates and copy pairs equal bit for bit', (raw, once, copying) => {
    // Copiers: witnesses 11 to 14 say what witness 10 says on the object, mistakes included,
    // on two objects in three (on the third they say their own, and differ).
    const feed = new Map(raw.filter((c) => c.witness === 10).map((c) => [c.object, c.value]))
    const copied = (c: (typeof raw)[number]) => copying && c.witness > 10 && feed.has(c.object) && (c.object + c.witness) % 3 !== 0
    let claims: Claim[] = raw.map((c) => ({object: `o${c.object}`, witness: `w${c.witness}`, value: copied(c) ? feed.get(c.object)! : c.value}))
    // The contract is one claim per (object, witness); the pass also took repeats, and still must.
    if (once) claims = [...new Map(claims.map((c) => [`${c.object}\u0000${c.witness}`, c])).values()]
    const fast = discoverTruth(claims)
    const ref = referenceDiscoverTruth(claims)
    expect(fast).toEqual(ref)
    // toEqual reads numbers with Object.is; the copy lists' key order shows in the cached JSON.
    expect(JSON.stringify([...fast.quality])).toBe(JSON.stringify([...ref.quality]))
  })

  it('on a copying feed and its copies across many objects', () => {
    const claims: Claim[] = []
    for (let i = 0; i < 30; i++) {
      for (const w of ['ind:1', 'ind:2', 'ind:3', 'ind:4', 'ind:5']) claims.push({object: `o${i}`, witness: w, value: [`t${i}`, `u${i}`]})
      for (const w of ['feed', 'copy:1', 'copy:2']) claims.push({object: `o${i}`, witness: w, value: i % 3 === 0 ? [`x${i}`] : i % 3 === 1 ? [`t${i}`] : [`t${i}`, `u${i}`]})
      // A witness that copies the feed on half the objects and says its own on the rest.
      claims.push({object: `o${i}`, witness: 'sometimes', value: i % 2 ? [`y${i}`] : i % 3 === 0 ? [`x${i}`] : i % 3 === 1 ? [`t${i}`] : [`t${i}`, `u${i}`]})
    }
    const fast = discoverTruth(claims)
    expect(Object.keys(fast.quality.get('copy:1')!.copies ?? {})).toEqual(['copy:2', 'feed', 'sometimes'])
    expect(fast).toEqual(referenceDiscoverTruth(claims))
  })

  test.prop([fc.array(fc.array(fc.nat(1), {minLength: 0, maxLength: 6}), {maxLength: 40})], {numRuns: 300})('partial claims equal the pairwise check, sets of any length included', (sets) => {
    expect(partialClaims(sets)).toEqual(referencePartialClaims(sets))
  })

  test.prop(
    [fc.array(fc.record({witness: fc.nat(9), key: fc.constantFrom('x', 'y', 'z')}), {maxLength: 30}), fc.array(fc.tuple(fc.nat(9), fc.nat(9), fc.constantFrom(0.01, 0.3, 0.75, 1)), {maxLength: 40}), fc.array(fc.double({min: 0, max: 1, noNaN: true}), {minLength: 10, maxLength: 10})],
    {numRuns: 300},
  )('copy weights equal the product over everyone ranked before', (obs, pairs, scores) => {
    const copies = new Map<number, Map<number, number>>()
    for (const [u, v, d] of pairs) {
      if (!copies.has(u)) copies.set(u, new Map())
      copies.get(u)!.set(v, d)
    }
    const fast = obs.map((o) => ({...o, weight: 0}))
    const ref = obs.map((o) => ({...o, weight: 0}))
    weighClaims(fast, copies, (w) => scores[w], 0.8)
    referenceWeighClaims(ref, copies, (w) => scores[w], 0.8)
    expect(fast).toEqual(ref)
  })
})

describe('the reliability lens: the same answers as before', () => {
  const rowArb = fc.record({agent: fc.nat(5), source: fc.option(fc.nat(6), {nil: undefined}), value: fc.constantFrom(...VALUES), tick: fc.nat(12)})
  test.prop([fc.array(rowArb, {minLength: 1, maxLength: 40}), fc.array(fc.record({subject: fc.nat(4), row: rowArb}), {maxLength: 60})], {numRuns: 120})(
    'on random candidates, learning from them alone and from the store',
    (rows, elsewhere) => {
      const cands = assertions(rows)
      expect(reliability(cands, ctx(), {})).toEqual(referenceReliability(cands, ctx(), {}))
      const all = [...cands, ...elsewhere.flatMap((e) => assertions([e.row], `s:${e.subject}`))]
      const table = toTable(discoverTruth(claimsOf(all)))
      expect(table).toEqual(toTable(referenceDiscoverTruth(claimsOf(all))))
      expect(reliability(cands, ctx(table), {})).toEqual(referenceReliability(cands, ctx(table), {}))
    },
  )

  it('on a flood of 1,000 witnesses of one value against a few others', () => {
    const rows = [...Array.from({length: 1000}, (_, i) => ({agent: 100 + i, value: 'A' as Json, tick: i})), ...['B', 'B', 'C', ['A', 'B'], ['B']].map((value, i) => ({agent: 10 + i, value: value as Json, tick: i}))]
    const cands = assertions(rows)
    const table = toTable(discoverTruth(claimsOf(cands)))
    expect(table).toEqual(toTable(referenceDiscoverTruth(claimsOf(cands))))
    expect(reliability(cands, ctx(table), {})).toEqual(referenceReliability(cands, ctx(table), {}))
    expect(reliability(cands, ctx(), {})).toEqual(referenceReliability(cands, ctx(), {}))
  })
})

/** A subject flooded with `n` witnesses of "A" (distinct sources of one agent), against a few others. */
function flood(n: number): Assertion[] {
  const rows = Array.from({length: n}, (_, i) => ({agent: 0, source: i, value: 'A' as Json, tick: i}))
  for (const [i, value] of (['B', 'B', 'B', 'C', 'C', ['A', 'B'], ['B']] as Json[]).entries()) rows.push({agent: 1 + i, source: undefined as unknown as number, value, tick: n + i})
  return assertions(rows)
}

describe('cost in steps, near-linear in the witnesses on one subject', () => {
  it('a flood of 20,000 witnesses of one value: training and the lens take steps in proportion', () => {
    const steps: number[] = []
    for (const n of [1000, 20_000]) {
      const cands = flood(n)
      const stats: TruthStats = {steps: 0}
      const learned = discoverTruth(claimsOf(cands), {}, stats)
      steps.push(stats.steps)
      // The lens's own comparisons, on the claims it weighs: the partial flags and the copy weights.
      const table = toTable(learned)
      const latest = new Map(cands.map((a) => [witnessOf(a), a]))
      const keys = [...new Set([...latest.values()].flatMap((a) => (Array.isArray(a.value) ? a.value : [a.value]).map((x) => JSON.stringify(x))))]
      const sets = [...latest.values()].map((a) => Uint8Array.from(keys, (k) => ((Array.isArray(a.value) ? a.value : [a.value]).some((x) => JSON.stringify(x) === k) ? 1 : 0)))
      const lens: TruthStats = {steps: 0}
      partialClaims(sets, lens)
      const obs = [...latest].map(([witness, a]) => ({witness, key: JSON.stringify(a.value), weight: 1}))
      const copies = new Map(obs.map((o) => [o.witness, new Map(Object.entries(table.get(o.witness)?.copies ?? {}))]))
      weighClaims(obs, copies, () => 0.5, TRUTH_DEFAULTS.copyRate, lens)
      expect(lens.steps, `the lens's steps on ${n} witnesses`).toBeGreaterThan(0)
      expect(lens.steps, `the lens's steps on ${n} witnesses`).toBeLessThan(20 * n)
      const res = reliability(cands, ctx(table), {})
      expect(res.winner?.key).toBe('"A"')
      expect(res.candidates.find((c) => c.key === '"A"')?.witnesses).toBe(n)
    }
    // Every pair of 20,000 witnesses is 200 million; the pass now compares only the few claims
    // that differ from the flood's, whatever its size.
    expect(steps[0]).toBeGreaterThan(0)
    expect(steps[1], 'training steps on 20,000 witnesses').toBeLessThan(20 * 20_000)
    expect(steps[1] / steps[0]).toBeLessThan(40)
  })

  it('two floods splitting a subject: each witness is compared with a window of the others, not all', () => {
    // 2 x 300 witnesses: every one of them makes a claim the model calls wrong (both values are
    // believed), so every pair within a camp shares a mistake.
    const rows = Array.from({length: 600}, (_, i) => ({agent: 0, source: i, value: (i % 2 ? 'A' : 'B') as Json, tick: i}))
    const cands = assertions(rows)
    const claims = claimsOf(cands)
    const window = TRUTH_DEFAULTS.copyWindow
    const stats: TruthStats = {steps: 0}
    const fast = discoverTruth(claims, {}, stats)
    const ref = referenceDiscoverTruth(claims)
    // The reference pairs each witness with all 299 others of its camp; the window with 2 x 32.
    const partners = (q: WitnessQuality) => Object.keys(q.copies ?? {}).length
    expect(Math.max(...[...ref.quality.values()].map(partners))).toBe(299)
    expect(Math.max(...[...fast.quality.values()].map(partners))).toBe(2 * window)
    expect(Math.min(...[...fast.quality.values()].map(partners))).toBe(window)
    expect(stats.steps).toBeLessThan(600 * 2 * window * 3)
    // The answer: the same winner and, past rounding, the same probabilities. Beyond the window a
    // claim counts for the product of its window's factors, already under 1e-12 here.
    const a = reliability(cands, ctx(toTable(fast)), {})
    const b = referenceReliability(cands, ctx(toTable(ref)), {})
    expect(a.winner?.key).toBe(b.winner?.key)
    expect(a.candidates.map((c) => c.key)).toEqual(b.candidates.map((c) => c.key))
    a.candidates.forEach((c, i) => expect(c.probability).toBeCloseTo(b.candidates[i].probability, 9))
    // A window as large as the camps is the reference exactly.
    expect(discoverTruth(claims, {copyWindow: 299})).toEqual(ref)
  })
})

/** One subject: `n` witnesses (sources of one agent) each naming a value of its own, and a few naming shared ones. */
function distinct(n: number, subject = 's:x'): Assertion[] {
  const rows: Array<{agent: number; source?: number; value: Json; tick: number}> = Array.from({length: n}, (_, i) => ({agent: 0, source: i, value: (i % 3 ? `v${i}` : [`v${i}`, 'A']) as Json, tick: i}))
  for (const [i, value] of (['A', 'A', 'A', ['A', 'B'], 'B'] as Json[]).entries()) rows.push({agent: 1 + i, value, tick: n + i})
  return assertions(rows, subject)
}

describe('a subject where every witness names a value of its own', () => {
  const rowArb = fc.record({agent: fc.nat(5), source: fc.option(fc.nat(6), {nil: undefined}), value: fc.constantFrom(...VALUES), tick: fc.nat(12)})
  // VALUES name 5 elements and distinct() 2 more (A, B): with up to 57 values of their own the subject stays within EXACT_ELEMENTS.
  test.prop([fc.integer({min: 1, max: EXACT_ELEMENTS - 7}), fc.array(rowArb, {maxLength: 30}), fc.array(fc.record({subject: fc.nat(3), row: rowArb}), {maxLength: 40})], {numRuns: 40})(
    'up to EXACT_ELEMENTS elements: training and the lens equal the reference bit for bit',
    (n, rows, elsewhere) => {
      const cands = [...distinct(n), ...assertions(rows.map((r) => ({...r, tick: r.tick + n + 10})))]
      const all = [...cands, ...elsewhere.flatMap((e) => assertions([e.row], `s:${e.subject}`)), ...distinct(n, 's:other')]
      const fast = discoverTruth(claimsOf(all))
      const ref = referenceDiscoverTruth(claimsOf(all))
      expect(fast).toEqual(ref)
      expect(JSON.stringify([...fast.quality])).toBe(JSON.stringify([...ref.quality]))
      const table = toTable(fast)
      const a = reliability(cands, ctx(table), {})
      expect(a).toEqual(referenceReliability(cands, ctx(table), {}))
      expect(reliability(cands, ctx(), {})).toEqual(referenceReliability(cands, ctx(), {}))
      expect(a.explanation.join('\n')).not.toMatch(/more than \d+/)
    },
  )

  it('at exactly EXACT_ELEMENTS elements the sums are still the exact ones', () => {
    // v0..v(n-1), A and B.
    const cands = distinct(EXACT_ELEMENTS - 2)
    const table = toTable(discoverTruth(claimsOf(cands)))
    expect(table).toEqual(toTable(referenceDiscoverTruth(claimsOf(cands))))
    expect(reliability(cands, ctx(table), {})).toEqual(referenceReliability(cands, ctx(table), {}))
  })

  test.prop([fc.integer({min: EXACT_ELEMENTS - 1, max: 400}), fc.array(rowArb, {maxLength: 30})], {numRuns: 25})(
    'past EXACT_ELEMENTS: the same winner and, up to rounding, the same probabilities and rates as the exact sums',
    (n, rows) => {
      const cands = [...distinct(n), ...assertions(rows.map((r) => ({...r, tick: r.tick + n + 10})))]
      const fast = toTable(discoverTruth(claimsOf(cands)))
      const ref = toTable(referenceDiscoverTruth(claimsOf(cands)))
      // Rounding, except where a last bit tips a wrong-claim flag or a copy probability: on 400
      // random stores of this shape rates moved by up to 3e-8 and probabilities by up to 9e-10.
      for (const [w, q] of ref) {
        expect(fast.get(w)!.sensitivity).toBeCloseTo(q.sensitivity, 6)
        expect(fast.get(w)!.falsePositive).toBeCloseTo(q.falsePositive, 6)
      }
      for (const [a, b] of [[reliability(cands, ctx(fast), {}), referenceReliability(cands, ctx(ref), {})], [reliability(cands, ctx(), {}), referenceReliability(cands, ctx(), {})]]) {
        expect(a.winner?.key).toBe(b.winner?.key)
        const theirs = new Map(b.candidates.map((c) => [c.key, c.probability]))
        for (const c of a.candidates) expect(c.probability).toBeCloseTo(theirs.get(c.key)!, 8)
        const [, named] = /^(\d+) elements are named on this subject, more than (\d+): .* exact only up to rounding$/.exec(a.explanation.at(-1)!)!
        expect(Number(named)).toBeGreaterThanOrEqual(n + 2)
      }
    },
  )

  it('20,000 values of their own: training and the lens visit witness-element pairs in proportion to the witnesses', () => {
    const n = 20_000
    const cands = distinct(n)
    const stats: TruthStats = {steps: 0, cells: 0}
    const learned = discoverTruth(claimsOf(cands), {}, stats)
    // Each EM round visits each witness's elements a few times; one flag or term per witness and
    // element would be 400 million a round.
    expect(stats.cells).toBeGreaterThan(0)
    expect(stats.cells!, `cells over ${learned.iterations} rounds`).toBeLessThan(10 * n * (learned.iterations + 1))
    expect(stats.steps).toBeLessThan(20 * n)
    const table = toTable(learned)
    for (const context of [ctx(table), ctx()]) {
      const lens: TruthStats = {steps: 0, cells: 0}
      const res = reliabilityLens(reliabilityModel, lens)(cands, context, {})
      expect(lens.cells).toBeGreaterThan(0)
      expect(lens.cells!).toBeLessThan(10 * n)
      // The shared value wins over 20,000 of their own, and the explanation says the sums were sparse.
      expect(res.winner?.key).toBe('"A"')
      // v0..v19999, A, [A, B] and B.
      expect(res.candidates).toHaveLength(n + 3)
      expect(res.explanation.at(-1)).toBe(`${n + 2} elements are named on this subject, more than ${EXACT_ELEMENTS}: the lens sums each witness's evidence once rather than per element, so probabilities are exact only up to rounding`)
    }
  })

  test.prop([fc.array(fc.uniqueArray(fc.nat(12), {maxLength: 6}).map((x) => Int32Array.from(x).sort()), {maxLength: 40})], {numRuns: 300})('partial claims from element indexes equal the pairwise check on flags', (lists) => {
    const sets = lists.map((els) => {
      const l = new Uint8Array(13)
      for (const e of els) l[e] = 1
      return l
    })
    expect(partialLists(lists)).toEqual(referencePartialClaims(sets))
  })
})
