/** Confidence: the value asserted with the highest confidence wins. */
import type {Lens} from './types.js'
import {empty, fmt, groupByValue, rank, resolved, short, showValue} from './values.js'

export const confidence: Lens = (cands) => {
  if (cands.length === 0) return empty('confidence', cands)
  const ranked = rank(groupByValue(cands), (g) => Math.max(...g.members.map((a) => a.confidence)))
  const best = cands.filter((a) => a.confidence === ranked[0].score).sort((a, b) => (a.id < b.id ? -1 : 1))[0]
  return resolved('confidence', cands, ranked, [
    `${showValue(ranked[0].key)} carries the highest confidence, ${fmt(ranked[0].score)} (id ${short(best.id)})${ranked[1] ? `; next best ${showValue(ranked[1].key)} at ${fmt(ranked[1].score)}` : ''}`,
  ])
}
