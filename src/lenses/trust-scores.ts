/**
 * Trust scores from endorsements, EigenTrust-style (Kamvar et al., WWW 2003): a random walk
 * over endorsement weights that restarts at the pre-trusted agents (the store's own key and
 * configured ones). Scores are reported relative to the best pre-trusted agent, in [0, 1].
 */
import type {Trust} from '../core/record.js'
import {compareRecords} from '../core/store.js'

export type Tier = 'newcomer' | 'established' | 'trusted' | 'authority'

/** Tier thresholds on the relative score; pre-trusted agents are always `authority`. */
export const TIERS = {trusted: 0.5, established: 0.15} as const
/** Probability of restarting at the pre-trusted set on each step. */
export const RESTART = 0.15

export interface TrustScore {
  agent: string
  score: number
  tier: Tier
  pretrusted: boolean
  /** Current endorsements of this agent: who, with what weight. */
  endorsedBy: Array<{agent: string; weight: number}>
}

export const tierOf = (score: number, pretrusted: boolean): Tier =>
  pretrusted ? 'authority' : score >= TIERS.trusted ? 'trusted' : score >= TIERS.established ? 'established' : 'newcomer'

/**
 * Endorsements: the latest trust record per (agent, target) counts; weight 0 withdraws.
 * An agent's outgoing weights are used as given when they sum to at most 1, else scaled to
 * sum to 1; what an agent does not hand out returns to the pre-trusted set.
 */
export function trustScores(endorsements: readonly Trust[], pretrusted: readonly string[], opts: {iterations?: number} = {}): Map<string, TrustScore> {
  const latest = new Map<string, Trust>()
  for (const t of [...endorsements].sort(compareRecords)) latest.set(`${t.agent}\u0000${t.target}`, t)
  const pre = [...new Set(pretrusted)].sort()
  const agents = new Set<string>(pre)
  const out = new Map<string, Array<{target: string; weight: number}>>()
  const endorsedBy = new Map<string, Array<{agent: string; weight: number}>>()
  for (const t of latest.values()) {
    if (t.weight <= 0 || t.agent === t.target) continue
    agents.add(t.agent)
    agents.add(t.target)
    const list = out.get(t.agent) ?? []
    list.push({target: t.target, weight: t.weight})
    out.set(t.agent, list)
    const by = endorsedBy.get(t.target) ?? []
    by.push({agent: t.agent, weight: t.weight})
    endorsedBy.set(t.target, by)
  }
  const ids = [...agents].sort()
  const ix = new Map(ids.map((a, i) => [a, i]))
  const result = new Map<string, TrustScore>()
  if (pre.length === 0) {
    for (const a of ids) result.set(a, {agent: a, score: 0, tier: 'newcomer', pretrusted: false, endorsedBy: endorsedBy.get(a) ?? []})
    return result
  }
  const p = new Float64Array(ids.length)
  for (const a of pre) p[ix.get(a)!] = 1 / pre.length
  let t = Float64Array.from(p)
  for (let it = 0; it < (opts.iterations ?? 200); it++) {
    const next = new Float64Array(ids.length)
    let leak = 0
    for (let i = 0; i < ids.length; i++) {
      const edges = out.get(ids[i]) ?? []
      const sum = edges.reduce((s, e) => s + e.weight, 0)
      const scale = sum > 1 ? 1 / sum : 1
      for (const e of edges) next[ix.get(e.target)!] += (1 - RESTART) * t[i] * e.weight * scale
      leak += (1 - RESTART) * t[i] * (1 - sum * scale)
    }
    let delta = 0
    for (let i = 0; i < ids.length; i++) {
      next[i] += (RESTART + leak) * p[i]
      delta += Math.abs(next[i] - t[i])
    }
    t = next
    if (delta < 1e-12) break
  }
  const top = Math.max(...pre.map((a) => t[ix.get(a)!]))
  for (const a of ids) {
    const isPre = pre.includes(a)
    const score = isPre ? 1 : Math.min(1, t[ix.get(a)!] / top)
    result.set(a, {agent: a, score, tier: tierOf(score, isPre), pretrusted: isPre, endorsedBy: (endorsedBy.get(a) ?? []).sort((x, y) => y.weight - x.weight || (x.agent < y.agent ? -1 : 1))})
  }
  return result
}
