/** Shared pieces every lens uses: grouping candidates by value, conflict scores, the id tie-break. */
import {canonicalize} from '../core/canonical.js'
import type {Assertion} from '../core/record.js'
import type {RankedValue} from './types.js'

export interface ValueGroup {
  key: string
  members: Assertion[]
}

/** Group assertions by canonical value; groups and members keep (hlc, id) order of first appearance. */
export function groupByValue(cands: readonly Assertion[]): ValueGroup[] {
  const groups = new Map<string, ValueGroup>()
  for (const a of cands) {
    const key = canonicalize(a.value)
    let g = groups.get(key)
    if (!g) groups.set(key, (g = {key, members: []}))
    g.members.push(a)
  }
  return [...groups.values()]
}

/** Turn scored groups into ranked values, best first; equal scores fall back to the smallest id. */
export function rank(groups: ValueGroup[], score: (g: ValueGroup) => number): RankedValue[] {
  const scored = groups.map((g) => ({g, s: score(g), minId: g.members.reduce((m, a) => (a.id < m ? a.id : m), g.members[0].id)}))
  const total = scored.reduce((t, x) => t + Math.max(0, x.s), 0)
  scored.sort((a, b) => b.s - a.s || (a.minId < b.minId ? -1 : a.minId > b.minId ? 1 : 0))
  return scored.map(({g, s}) => ({
    value: g.members[0].value,
    key: g.key,
    score: s,
    probability: total > 0 ? Math.max(0, s) / total : 1 / scored.length,
    ids: g.members.map((a) => a.id),
    agents: new Set(g.members.map((a) => a.agent)).size,
  }))
}

/** Normalised entropy of the probabilities: 0 for one value, 1 for an even split. */
export function conflictOf(ranked: readonly RankedValue[]): number {
  if (ranked.length < 2) return 0
  let h = 0
  for (const r of ranked) if (r.probability > 0) h -= r.probability * Math.log(r.probability)
  return Math.min(1, Math.max(0, h / Math.log(ranked.length)))
}

export const short = (id: string) => id.slice(0, 12)
export const showValue = (key: string) => (key.length > 60 ? key.slice(0, 57) + '...' : key)
