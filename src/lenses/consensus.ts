/** Consensus: the value most distinct witnesses stand behind (a source, or an agent citing none), each counted once for its latest word. */
import type {Lens} from './types.js'
import {empty, groupByValue, plural, rank, resolved, showValue, witnessesByValue} from './values.js'

export const consensus: Lens = (cands, ctx) => {
  if (cands.length === 0) return empty('consensus', cands)
  const wits = witnessesByValue(cands)
  const ranked = rank(groupByValue(cands), (g) => wits.get(g.key)?.length ?? 0)
  const total = [...wits.values()].reduce((t, w) => t + w.length, 0)
  const copies = cands.length - total
  return resolved('consensus', cands, ranked, [
    `${showValue(ranked[0].key)} has ${plural(ranked[0].score, 'witness')} of ${total}` +
      (ranked[1] ? `; next ${showValue(ranked[1].key)} with ${ranked[1].score}` : '') +
      (copies > 0 ? ` (${plural(copies, 'repeated or earlier assertion')} by the same witnesses not counted)` : ''),
  ], ctx)
}
