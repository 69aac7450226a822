/** Source reliability: values scored by witnesses whose reliability was learned across all subjects (truth-discovery.ts). */
import type {Json} from '../core/record.js'
import type {Lens, WitnessQuality} from './types.js'
import {discoverTruth, effectiveQuality, elementsOf, partialClaims, posteriors, TRUTH_DEFAULTS, weighClaims} from './truth-discovery.js'
import {empty, groupByValue, latestPerWitness, plural, rank, resolved, showValue, valueKey} from './values.js'

const pct = (x: number) => `${(x * 100).toFixed(0)}%`

export const reliability: Lens = (cands, ctx) => {
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
    return {witness, els, quality: table.get(witness) ?? pooled, key: [...els].sort().join('\u0000'), weight: 1}
  })
  // Witnesses that copy each other count, together, for little more than one.
  const copies = new Map(obs.map((o) => [o.witness, new Map(Object.entries(o.quality.copies ?? {}))]))
  weighClaims(obs, copies, (w) => {
    const q = table.get(w) ?? pooled
    return q.sensitivity * (1 - q.falsePositive)
  }, TRUTH_DEFAULTS.copyRate)
  const sets = obs.map((o) => {
    const listed = new Uint8Array(elements.size)
    for (const e of o.els) listed[elements.get(e)!] = 1
    return listed
  })
  const partial = partialClaims(sets)
  const p = posteriors(
    elements.size,
    obs.map((o, i) => ({listed: sets[i], quality: effectiveQuality(o.quality, partial[i]), weight: o.weight})),
    TRUTH_DEFAULTS.prior,
  )
  // A value's log-likelihood: its elements true, every other named element false.
  const logLik = (value: Json) => {
    const mine = new Set(elementsOf(value))
    let l = 0
    for (const [e, i] of elements) {
      const q = Math.min(1 - 1e-12, Math.max(1e-12, p[i]))
      l += Math.log(mine.has(e) ? q : 1 - q)
    }
    return l
  }
  const groups = groupByValue(cands)
  const ll = new Map(groups.map((g) => [g.key, logLik(g.members[0].value)]))
  const max = Math.max(...ll.values())
  const z = [...ll.values()].reduce((t, x) => t + Math.exp(x - max), 0)
  const ranked = rank(groups, (g) => ll.get(g.key)!, (g) => Math.exp(ll.get(g.key)! - max) / z)
  const w = ranked[0]
  const backers = obs
    .filter((o) => valueKey(latest.get(o.witness)!) === w.key)
    .sort((a, b) => b.quality.sensitivity * (1 - b.quality.falsePositive) - a.quality.sensitivity * (1 - a.quality.falsePositive) || (a.witness < b.witness ? -1 : 1))
    .slice(0, 3)
    .map((o) => `${o.witness} (lists ${pct(o.quality.sensitivity)} of what is true, ${pct(o.quality.falsePositive)} of what is false, over ${plural(o.quality.claims, 'claim')})`)
  const discounted = obs.filter((o) => o.weight < 1 - 1e-9)
  const copyNote = discounted.length
    ? [`${plural(discounted.length, 'witness')} discounted as probable copies of others making the same claim: ${discounted.slice(0, 3).map((o) => `${o.witness} (counts ${pct(o.weight)})`).join('; ')}${discounted.length > 3 ? '; ...' : ''}`]
    : []
  return resolved('reliability', cands, ranked, [
    `${showValue(w.key)} is the most likely value (p ${w.probability.toFixed(2)}) given each witness's reliability ${learned}`,
    `its most reliable witnesses: ${backers.join('; ')}`,
    ...copyNote,
  ])
}
