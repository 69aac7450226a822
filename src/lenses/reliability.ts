/** Source reliability: values scored by witnesses whose reliability was learned across all subjects (truth-discovery.ts). */
import type {Assertion, Json} from '../core/record.js'
import {field} from '../core/text.js'
import type {Lens, WitnessQuality} from './types.js'
import {discoverTruth, effectiveQuality, elementsOf, EXACT_ELEMENTS, indexes, partialClaims, partialLists, posteriors, sparsePosteriors, TRUTH_DEFAULTS, weighClaims, type TruthStats} from './truth-discovery.js'
import {empty, groupByValue, latestPerWitness, maxOf, ordered, plural, rank, resolved, showValue, valueKey, type ValueGroup} from './values.js'

const pct = (x: number) => `${(x * 100).toFixed(0)}%`

/**
 * The passes the lens runs: truth discovery's and the grouping of values by their elements. The
 * tests give it the versions from before these were made near-linear, to check it answers the same.
 */
export interface ReliabilityModel {
  discoverTruth: (claims: Iterable<{object: string; witness: string; value: Json}>) => {quality: Map<string, WitnessQuality>}
  partialClaims: (sets: ReadonlyArray<ArrayLike<number>>) => boolean[]
  weighClaims: typeof weighClaims
  groups: (cands: readonly Assertion[], obs: ReadonlyArray<{witness: string; key: string}>) => ValueGroup[]
}

/** The passes the lens runs by default. */
export const reliabilityModel: ReliabilityModel = {discoverTruth, partialClaims, weighClaims, groups: elementGroups}

export const reliability: Lens = reliabilityLens(reliabilityModel)

/** The lens, its element sums counted in `stats.cells` (see TruthStats): for tests of its cost. */
export function reliabilityLens(model: ReliabilityModel, stats?: TruthStats): Lens {
  const {discoverTruth, partialClaims, weighClaims} = model
  return (cands, ctx) => {
    if (cands.length === 0) return empty('reliability', cands)
    const latest = latestPerWitness(cands)
    let table = ctx.reliability
    let learned = 'learned across the store'
    if (!table) {
      // No store-wide pass was run: learn from these candidates alone (weaker, still deterministic).
      const object = `${cands[0].subject}\u0000${cands[0].predicate}`
      table = discoverTruth([...latest].map(([witness, a]) => ({object, witness, value: a.value}))).quality
      learned = 'learned from this subject alone'
    }
    const pooled: WitnessQuality = table.get('*') ?? {sensitivity: TRUTH_DEFAULTS.sensitivity, falsePositive: TRUTH_DEFAULTS.falsePositive, claims: 0}
    const elements = new Map<string, number>()
    const obs = [...latest].map(([witness, a]) => {
      const els = elementsOf(a.value)
      for (const e of els) if (!elements.has(e)) elements.set(e, elements.size)
      return {witness, els, quality: table.get(witness) ?? pooled, key: setKey(a.value), weight: 1}
    })
    // Elements only a value nobody's latest word holds names: every witness leaves them out, which
    // is evidence against them. Left out of the model, such a value read as "everything named is
    // false" and could win where the witnesses disagree.
    for (const a of ordered(cands)) for (const e of elementsOf(a.value)) if (!elements.has(e)) elements.set(e, elements.size)
    // Witnesses that copy each other count, together, for little more than one.
    const copies = new Map(obs.map((o) => [o.witness, new Map(Object.entries(o.quality.copies ?? {}))]))
    weighClaims(obs, copies, (w) => {
      const q = table.get(w) ?? pooled
      return q.sensitivity * (1 - q.falsePositive)
    }, TRUTH_DEFAULTS.copyRate)
    // Past EXACT_ELEMENTS elements (a subject flooded with values of their own) the sums run
    // sparsely, in proportion to the witnesses and what they name, rather than one flag and one
    // term per witness and element: equal up to rounding, and the explanation says so.
    const sparse = elements.size > EXACT_ELEMENTS
    let p: Float64Array
    if (sparse) {
      const lists = obs.map((o) => indexes(o.els, elements))
      const partial = partialLists(lists)
      p = sparsePosteriors(elements.size, obs.map((o, i) => ({els: lists[i], quality: effectiveQuality(o.quality, partial[i]), weight: o.weight})), TRUTH_DEFAULTS.prior, stats)
    } else {
      const sets = obs.map((o) => {
        const listed = new Uint8Array(elements.size)
        for (const e of o.els) listed[elements.get(e)!] = 1
        return listed
      })
      const partial = partialClaims(sets)
      p = posteriors(elements.size, obs.map((o, i) => ({listed: sets[i], quality: effectiveQuality(o.quality, partial[i]), weight: o.weight})), TRUTH_DEFAULTS.prior, stats)
    }
    // Each element's log-probability of being true and of being false, once.
    const yes = new Float64Array(elements.size)
    const no = new Float64Array(elements.size)
    for (let i = 0; i < elements.size; i++) {
      const q = Math.min(1 - 1e-12, Math.max(1e-12, p[i]))
      yes[i] = Math.log(q)
      no[i] = Math.log(1 - q)
    }
    // Sparse: every element false, then the value's own elements true.
    let allFalse = 0
    if (sparse) for (let i = 0; i < elements.size; i++) allFalse += no[i]
    // A value's log-likelihood: its elements true, every other named element false.
    const logLik = (value: Json) => {
      const mine = elementsOf(value).map((e) => elements.get(e)!)
      if (sparse) {
        if (stats?.cells !== undefined) stats.cells += mine.length + 1
        let l = allFalse
        for (const i of mine) l += yes[i] - no[i]
        return l
      }
      if (stats?.cells !== undefined) stats.cells += elements.size
      const set = new Set(mine)
      let l = 0
      for (let i = 0; i < elements.size; i++) l += set.has(i) ? yes[i] : no[i]
      return l
    }
    const groups = model.groups(cands, obs)
    const ll = new Map(groups.map((g) => [g.key, logLik(g.members[0].value)]))
    const max = maxOf(ll.values())
    const z = [...ll.values()].reduce((t, x) => t + Math.exp(x - max), 0)
    const ranked = rank(groups, (g) => ll.get(g.key)!, (g) => Math.exp(ll.get(g.key)! - max) / z)
    const w = ranked[0]
    const wset = setKey(w.value)
    const backers = obs
      .filter((o) => o.key === wset)
      .sort((a, b) => b.quality.sensitivity * (1 - b.quality.falsePositive) - a.quality.sensitivity * (1 - a.quality.falsePositive) || (a.witness < b.witness ? -1 : 1))
      .slice(0, 3)
      .map((o) => `${field(o.witness)} (lists ${pct(o.quality.sensitivity)} of what is true, ${pct(o.quality.falsePositive)} of what is false, over ${plural(o.quality.claims, 'claim')})`)
    const discounted = obs.filter((o) => o.weight < 1 - 1e-9)
    const copyNote = discounted.length
      ? [`${plural(discounted.length, 'witness')} discounted as probable copies of others making the same claim: ${discounted.slice(0, 3).map((o) => `${field(o.witness)} (counts ${pct(o.weight)})`).join('; ')}${discounted.length > 3 ? '; ...' : ''}`]
      : []
    return resolved('reliability', cands, ranked, [
      `${showValue(w.key)} is the most likely value (p ${w.probability.toFixed(2)}) given each witness's reliability ${learned}`,
      backers.length ? `its most reliable witnesses: ${backers.join('; ')}` : 'no witness holds it as its latest word',
      ...copyNote,
      ...(sparse ? [`${elements.size} elements are named on this subject, more than ${EXACT_ELEMENTS}: the lens sums each witness's evidence once rather than per element, so probabilities are exact only up to rounding`] : []),
    ], ctx)
  }
}

/** A value's elements, sorted: the claim as the model sees it ("a" and ["a"] are one claim). */
export const setKey = (value: Json) => [...elementsOf(value)].sort().join('\u0000')

/**
 * Candidates grouped by their elements, not their JSON form: the model cannot tell "a" from ["a"]
 * or ["x", "y"] from ["y", "x"], and as separate values they tied at an even split, a conflict of 1
 * where every witness agreed. Each group shows the form most witnesses' latest words use (then the
 * one with the smallest id).
 */
function elementGroups(cands: readonly Assertion[], obs: ReadonlyArray<{witness: string; key: string}>): ValueGroup[] {
  const sets = new Map<string, Assertion[]>()
  for (const g of groupByValue(cands)) {
    const k = setKey(g.members[0].value)
    const list = sets.get(k)
    // A loop, not push(...members): spread arguments overflow the stack past about 125,000.
    if (list) for (const a of g.members) list.push(a)
    else sets.set(k, [...g.members])
  }
  // Witnesses per JSON form, per set: one pass over the witnesses (when some set has several
  // forms), not one per set.
  let formWits: Map<string, Map<string, number>> | undefined
  const witsOf = (k: string) => {
    if (!formWits) {
      formWits = new Map()
      const latest = latestPerWitness(cands)
      for (const o of obs) {
        let wits = formWits.get(o.key)
        if (!wits) formWits.set(o.key, (wits = new Map()))
        const form = valueKey(latest.get(o.witness)!)
        wits.set(form, (wits.get(form) ?? 0) + 1)
      }
    }
    return formWits.get(k) ?? new Map<string, number>()
  }
  return [...sets].map(([k, members]) => {
    const forms = groupByValue(members)
    if (forms.length === 1) return forms[0]
    const wits = witsOf(k)
    const minId = (g: ValueGroup) => g.members.reduce((m, a) => (a.id < m ? a.id : m), g.members[0].id)
    const shown = forms.sort((x, y) => (wits.get(y.key) ?? 0) - (wits.get(x.key) ?? 0) || (minId(x) < minId(y) ? -1 : 1))[0]
    return {key: shown.key, value: shown.members[0].value, members: ordered(members), witnesses: [...wits.values()].reduce((t, n) => t + n, 0)}
  })
}
