/**
 * The reliability lens as it was before its copy weights, partial claims and value grouping were
 * made near-linear: the lens itself, run on the reference truth-discovery passes and the grouping
 * it had then. What the fast lens must equal exactly.
 */
import type {Assertion} from '../../src/core/record.js'
import {reliabilityLens, setKey} from '../../src/lenses/reliability.js'
import {groupByValue, latestPerWitness, ordered, valueKey, type ValueGroup} from '../../src/lenses/values.js'
import {discoverTruth, partialClaims, weighClaims} from './truth-discovery-reference.js'

/** Candidates grouped by their elements, each group shown in the form most witnesses use: rescanning the witnesses once per set. */
function elementGroups(cands: readonly Assertion[], obs: ReadonlyArray<{witness: string; key: string}>): ValueGroup[] {
  const sets = new Map<string, Assertion[]>()
  for (const g of groupByValue(cands)) {
    const k = setKey(g.members[0].value)
    sets.set(k, [...(sets.get(k) ?? []), ...g.members])
  }
  const latest = latestPerWitness(cands)
  return [...sets].map(([k, members]) => {
    const forms = groupByValue(members)
    if (forms.length === 1) return forms[0]
    const wits = new Map<string, number>()
    for (const o of obs) if (o.key === k) wits.set(valueKey(latest.get(o.witness)!), (wits.get(valueKey(latest.get(o.witness)!)) ?? 0) + 1)
    const minId = (g: ValueGroup) => g.members.reduce((m, a) => (a.id < m ? a.id : m), g.members[0].id)
    const shown = forms.sort((x, y) => (wits.get(y.key) ?? 0) - (wits.get(x.key) ?? 0) || (minId(x) < minId(y) ? -1 : 1))[0]
    return {key: shown.key, value: shown.members[0].value, members: ordered(members), witnesses: [...wits.values()].reduce((t, n) => t + n, 0)}
  })
}

export const reliability = reliabilityLens({discoverTruth, partialClaims, weighClaims, groups: elementGroups})
