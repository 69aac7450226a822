/** Confidence: the value asserted with the highest confidence wins, each agent counting for its latest word. */
import type {Lens} from './types.js'
import {empty, fmt, groupByValue, latestPerAgent, rank, resolved, short, showValue, valueKey} from './values.js'

export const confidence: Lens = (cands, ctx) => {
  if (cands.length === 0) return empty('confidence', cands)
  // A value an agent has since moved away from keeps none of its confidence: otherwise an
  // agent's old, more confident word outranks its own correction.
  const current = latestPerAgent(cands)
  const best = new Map<string, number>()
  for (const a of current) best.set(valueKey(a), Math.max(best.get(valueKey(a)) ?? 0, a.confidence))
  const ranked = rank(groupByValue(cands), (g) => best.get(g.key) ?? 0)
  const top = ranked[0]
  // The assertion the score comes from: the winner's own, the smallest id among equals.
  const by = current.filter((a) => valueKey(a) === top.key && a.confidence === top.score).sort((a, b) => (a.id < b.id ? -1 : 1))[0]
  return resolved('confidence', cands, ranked, [
    `${showValue(top.key)} carries the highest confidence, ${fmt(top.score)}${by ? ` (id ${short(by.id)})` : ''}${ranked[1] ? `; next best ${showValue(ranked[1].key)} at ${fmt(ranked[1].score)}` : ''}`,
  ], ctx)
}
