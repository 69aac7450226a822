/** Trust-weighted: each value scores the summed trust of the distinct agents asserting it. */
import type {Lens} from './types.js'
import {declined, empty, fmt, groupByValue, plural, rank, resolved, showValue} from './values.js'

export const trust: Lens = (cands, ctx) => {
  if (cands.length === 0) return empty('trust', cands)
  const groups = groupByValue(cands)
  const ranked = rank(groups, (g) => [...new Set(g.members.map((a) => a.agent))].reduce((t, agent) => t + (ctx.trust.get(agent) ?? 0), 0))
  if (!(ranked[0].score > 0)) {
    return declined('trust', cands, 'abstain', [`none of the ${plural(new Set(cands.map((a) => a.agent)).size, 'agent')} behind the candidates has any trust yet (endorse with \`steme trust <agent> <weight>\`)`], ranked)
  }
  const w = ranked[0]
  return resolved('trust', cands, ranked, [
    `${showValue(w.key)} has the most trust behind it: ${fmt(w.score)} from ${plural(w.agents, 'agent')}` + (ranked[1] ? `; next ${showValue(ranked[1].key)} with ${fmt(ranked[1].score)}` : ''),
  ])
}
