/** Authority: a configured ranking of sources and agents; the value backed by the highest-ranked one wins. */
import type {Assertion} from '../core/record.js'
import {field} from '../core/text.js'
import type {Lens} from './types.js'
import {declined, empty, groupByValue, latestPerAgent, rank, resolved, short, showValue, valueKey, witnessesByValue} from './values.js'

/** A list param given as an array (config) or one string split on spaces, `|` or `;` (expression). */
export function listParam(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string')
  if (typeof v === 'string') return v.split(/[\s|;]+/).filter(Boolean)
  return []
}

/** `*` matches any run of characters; everything else is literal. */
export function globRe(glob: string): RegExp {
  return new RegExp('^' + glob.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$')
}

/** Does an authority pattern name this assertion? `self`, `agent:<hex prefix>`, or a glob on the source. */
export function matcher(pattern: string, self?: string): (a: Assertion) => boolean {
  if (pattern === 'self') return (a) => self !== undefined && a.agent === self
  if (pattern.startsWith('agent:')) {
    const prefix = pattern.slice(6).toLowerCase()
    return (a) => prefix.length > 0 && a.agent.startsWith(prefix)
  }
  const re = globRe(pattern.startsWith('source:') ? pattern.slice(7) : pattern)
  return (a) => a.source !== undefined && re.test(a.source)
}

export const authority: Lens = (cands, ctx, params) => {
  if (cands.length === 0) return empty('authority', cands)
  const order = listParam(params.order)
  if (order.length === 0) {
    return declined('authority', cands, ctx, 'abstain', ['no authority order is configured: set [lenses.authority] order = ["fda:*", "agent:<key>", ...] in the store config, or write authority(order="fda:* who:*")'])
  }
  const matchers = order.map((p) => matcher(p, ctx.self))
  const noSelf = ctx.self === undefined && order.includes('self') ? ['there is no signing key here, so "self" in the authority order matches nothing'] : []
  const rankOf = (a: Assertion) => {
    const i = matchers.findIndex((m) => m(a))
    return i < 0 ? order.length : i
  }
  const groups = groupByValue(cands)
  // Each agent counts for its latest word: a ranked agent's correction outranks its old value.
  const current = latestPerAgent(cands)
  const best = new Map<string, number>()
  for (const a of current) best.set(valueKey(a), Math.min(best.get(valueKey(a)) ?? order.length, rankOf(a)))
  // Score: higher for a better (smaller) rank; values no pattern names score 0. The score is an
  // ordinal, so the probability is the share of witnesses behind the value (as for recency).
  const wits = witnessesByValue(cands)
  const total = [...wits.values()].reduce((t, w) => t + w.length, 0)
  const ranked = rank(groups, (g) => order.length - (best.get(g.key) ?? order.length), (g) => (wits.get(g.key)?.length ?? 0) / total)
  if (ranked[0].score === 0) {
    return declined('authority', cands, ctx, 'abstain', [`no candidate matches the authority order (${order.map(field).join(', ')})`, ...noSelf])
  }
  const top = ranked[0]
  const i = order.length - top.score
  const by = current.filter((a) => valueKey(a) === top.key && rankOf(a) === i).sort((a, b) => (a.id < b.id ? -1 : 1))[0]
  // Name what the pattern matched: the agent for `self` and `agent:`, else the source.
  const who = order[i] === 'self' || order[i].startsWith('agent:') ? `agent ${short(by.agent)}${order[i] === 'self' ? ' (self)' : ''}` : `source ${field(by.source ?? '')}`
  return resolved('authority', cands, ranked, [`${showValue(top.key)} comes from ${who}, which matches authority rank ${i + 1} ("${field(order[i])}")`, ...noSelf], ctx)
}
