/** Recency: the value of the latest assertion by (hlc, id) wins. */
import type {Lens} from './types.js'
import {conflictOf, groupByValue, rank, short, showValue} from './values.js'

export const recency: Lens = (cands, ctx) => {
  const base = {lens: 'recency', subject: cands[0]?.subject ?? '', predicate: cands[0]?.predicate ?? ''}
  const live = cands.filter((a) => !ctx.retracted.has(a.id))
  if (live.length === 0) return {...base, candidates: [], conflict: 0, explanation: [cands.length ? 'every candidate is retracted' : 'no candidates']}
  const latest = new Map<string, string>()
  for (const a of live) latest.set(a.id, a.hlc + a.id)
  const groups = groupByValue(live)
  // Score by position in time: the newest assertion's group ranks first.
  const order = [...live].sort((a, b) => (a.hlc + a.id < b.hlc + b.id ? -1 : 1))
  const pos = new Map(order.map((a, i) => [a.id, i + 1]))
  const ranked = rank(groups, (g) => Math.max(...g.members.map((a) => pos.get(a.id)!)))
  const newest = order[order.length - 1]
  return {
    ...base,
    winner: ranked[0],
    candidates: ranked,
    conflict: conflictOf(ranked.map((r) => ({...r, probability: r.ids.length / live.length}))),
    explanation: [`${showValue(ranked[0].key)} is the latest assertion (hlc ${newest.hlc}, id ${short(newest.id)}) of ${live.length}`],
  }
}
