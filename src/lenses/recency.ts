/** Recency: the value of the latest assertion by hlc wins; values last asserted at the same hlc tie (smallest id). */
import type {Lens} from './types.js'
import {empty, groupByValue, isTie, maxOf, ordered, plural, rank, resolved, short, showValue, witnessesByValue} from './values.js'

export const recency: Lens = (cands, ctx) => {
  if (cands.length === 0) return empty('recency', cands)
  const order = ordered(cands)
  // Ordinal score: the rank of the group's newest stamp among the distinct stamps. Two values last
  // asserted at the same hlc (peers' clocks can meet) score the same: neither is later, so the
  // documented tie-break (smallest id) decides and the answer says `tie`, rather than the larger
  // id passing for the later assertion.
  const stamps = [...new Set(order.map((a) => a.hlc))]
  const pos = new Map(stamps.map((h, i) => [h, i + 1]))
  const wits = witnessesByValue(cands)
  const total = [...wits.values()].reduce((t, w) => t + w.length, 0)
  // Probability: the share of witnesses whose last word is this value, so the conflict score
  // still shows disagreement.
  const ranked = rank(groupByValue(cands), (g) => maxOf(g.members.map((a) => pos.get(a.hlc)!)), (g) => (wits.get(g.key)?.length ?? 0) / total)
  const newest = order[order.length - 1]
  if (isTie(ranked)) {
    // A tie: resolved() names the tied values and the id that breaks it; say what they share.
    const tied = ranked.filter((r) => r.score === ranked[0].score).length
    return resolved('recency', cands, ranked, [`${tied} values were last asserted at the same hlc, ${newest.hlc} (of ${plural(cands.length, 'candidate')}), so none is later than the others`], ctx)
  }
  const latest = order.filter((a) => a.hlc === newest.hlc)
  return resolved('recency', cands, ranked, [`${showValue(ranked[0].key)} is the latest assertion (hlc ${newest.hlc}, id ${short(latest[0].id)}) of ${plural(cands.length, 'candidate')}`], ctx)
}
