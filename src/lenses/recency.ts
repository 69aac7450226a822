/** Recency: the value of the latest assertion by (hlc, id) wins. */
import type {Lens} from './types.js'
import {empty, groupByValue, ordered, plural, rank, resolved, short, showValue, witnessesByValue} from './values.js'

export const recency: Lens = (cands) => {
  if (cands.length === 0) return empty('recency', cands)
  const order = ordered(cands)
  const pos = new Map(order.map((a, i) => [a.id, i + 1]))
  const wits = witnessesByValue(cands)
  const total = [...wits.values()].reduce((t, w) => t + w.length, 0)
  // Ordinal score: the position of the group's newest assertion. Probability: the share of
  // witnesses whose last word is this value, so the conflict score still shows disagreement.
  const ranked = rank(groupByValue(cands), (g) => Math.max(...g.members.map((a) => pos.get(a.id)!)), (g) => (wits.get(g.key)?.length ?? 0) / total)
  const newest = order[order.length - 1]
  return resolved('recency', cands, ranked, [`${showValue(ranked[0].key)} is the latest assertion (hlc ${newest.hlc}, id ${short(newest.id)}) of ${plural(cands.length, 'candidate')}`])
}
