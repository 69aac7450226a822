/** Vote-aware consensus: witnesses plus the net votes of distinct agents on each value's assertions. */
import type {Vote} from '../core/record.js'
import {compareRecords} from '../core/store.js'
import type {Lens} from './types.js'
import {empty, fmt, groupByValue, latestBackers, plural, rank, resolved, showValue, witnessesByValue} from './values.js'

const VOTERS_NAMED = 3

/**
 * Who voted on a value and with what weight, three at most and then how many more: votes
 * come by sync from agents the reader may not know, and an answer they turned is theirs to name.
 */
function voters(list: ReadonlyArray<[string, number]>, lead: string): string {
  if (!list.length) return ''
  const named = list.slice(0, VOTERS_NAMED).map(([a, w]) => `${a.slice(0, 12)} ${w > 0 ? '+' : ''}${fmt(w)}`)
  if (list.length > VOTERS_NAMED) named.push(`and ${list.length - VOTERS_NAMED} more`)
  return ` (${lead} ${named.join(', ')})`
}

/** The counting vote per (agent, target): the latest by (hlc, id). Withdrawn votes weigh 0. */
export function latestVotes(votes: readonly Vote[]): Map<string, Vote> {
  const out = new Map<string, Vote>()
  for (const v of [...votes].sort(compareRecords)) out.set(`${v.agent}\u0000${v.target}`, v)
  return out
}

export const votes: Lens = (cands, ctx) => {
  if (cands.length === 0) return empty('votes', cands)
  const wits = witnessesByValue(cands)
  const latest = [...latestVotes(ctx.votes).values()]
  const groups = groupByValue(cands)
  // An agent whose latest word is a value already counts for it (as its witness, or behind the
  // source it cites): its vote on that value would count it twice, one agent doubling its value
  // against another's, the flooding consensus rules out. Unless its words hold other values too.
  const backers = latestBackers(cands)
  // An agent whose latest words hold several values (sources it relays disagree) does not stand
  // behind one of them yet: its vote is how it says which it believes, and counts.
  const backed = new Map<string, number>()
  for (const agents of backers.values()) for (const a of agents) backed.set(a, (backed.get(a) ?? 0) + 1)
  let own = 0
  const net = new Map<string, {up: number; down: number; voters: Array<[string, number]>}>()
  for (const g of groups) {
    const ids = new Set(g.members.map((a) => a.id))
    const behind = backers.get(g.key)
    // One agent voting on several copies of a value counts once, with the sign of its summed votes.
    const perAgent = new Map<string, number>()
    for (const v of latest) {
      if (!ids.has(v.target)) continue
      if (behind?.has(v.agent) && backed.get(v.agent) === 1) {
        if (v.weight !== 0) own++
        continue
      }
      perAgent.set(v.agent, (perAgent.get(v.agent) ?? 0) + v.weight)
    }
    let up = 0
    let down = 0
    for (const w of perAgent.values()) w > 0 ? up++ : w < 0 ? down++ : 0
    // Whose votes they are, each with the weight it counts for (its sign: +1 or -1), ups first, then by key.
    const voters = [...perAgent]
      .filter(([, w]) => w !== 0)
      .map(([a, w]): [string, number] => [a, Math.sign(w)])
      .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1))
    net.set(g.key, {up, down, voters})
  }
  const ranked = rank(groups, (g) => (wits.get(g.key)?.length ?? 0) + net.get(g.key)!.up - net.get(g.key)!.down)
  const w = ranked[0]
  const n = net.get(w.key)!
  const next = ranked[1] && net.get(ranked[1].key)!
  return resolved('votes', cands, ranked, [
    `${showValue(w.key)} scores ${w.score}: ${plural(wits.get(w.key)?.length ?? 0, 'witness')}, ${n.up} up and ${n.down} down votes${voters(n.voters, 'by')}` +
      (ranked[1] ? `; next ${showValue(ranked[1].key)} scores ${ranked[1].score}${voters(next!.voters, 'votes by')}` : '') +
      (own ? ` (${plural(own, 'vote')} by agents on a value their own latest word holds not counted)` : ''),
  ], ctx)
}
