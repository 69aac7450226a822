/** Trust-weighted: each value scores the summed trust of the distinct agents whose latest word it is. */
import type {Lens} from './types.js'
import {declined, empty, fmt, groupByValue, latestBackers, plural, rank, resolved, showValue} from './values.js'

export const trust: Lens = (cands, ctx) => {
  if (cands.length === 0) return empty('trust', cands)
  const groups = groupByValue(cands)
  // An agent that has since said otherwise no longer stands behind its earlier value: counting it
  // there let a trusted agent's old word tie with (or beat) its new one.
  const backers = latestBackers(cands)
  const scoreOf = (key: string) => [...(backers.get(key) ?? [])].reduce((t, agent) => t + (ctx.trust.get(agent) ?? 0), 0)
  const ranked = rank(groups, (g) => scoreOf(g.key))
  if (!(ranked[0].score > 0)) {
    return declined('trust', cands, ctx, 'abstain', [`none of the ${plural(new Set(cands.map((a) => a.agent)).size, 'agent')} behind the candidates has any trust yet (endorse with \`steme trust <agent> <weight>\`)`], ranked)
  }
  const w = ranked[0]
  const agents = [...(backers.get(w.key) ?? [])]
  // Whose trust it is, most trusted first (ties by key): the answer rests on them.
  const withTrust = agents.filter((a) => (ctx.trust.get(a) ?? 0) > 0).sort((a, b) => ctx.trust.get(b)! - ctx.trust.get(a)! || (a < b ? -1 : 1))
  const trusted = withTrust.length
  const named = withTrust.slice(0, 3).map((a) => `${a.slice(0, 12)} at ${fmt(ctx.trust.get(a)!)}`).join(', ') + (trusted > 3 ? `, and ${trusted - 3} more` : '')
  return resolved('trust', cands, ranked, [
    `${showValue(w.key)} has the most trust behind it: ${fmt(w.score)} from ${plural(trusted, 'agent')} with trust (${named}` +
      (agents.length > trusted ? `; and ${agents.length - trusted} without)` : ')') +
      (ranked[1] ? `; next ${showValue(ranked[1].key)} with ${fmt(ranked[1].score)}` : ''),
  ], ctx)
}
