/** Epoch-aware: only the latest era that has anything to say counts; within it, consensus, then recency. */
import type {Lens} from './types.js'
import {field} from '../core/text.js'
import {consensus} from './consensus.js'
import {currentEpoch, epochOf, epochTimeline} from './epochs.js'
import {recency} from './recency.js'
import {declined, empty, plural} from './values.js'

export const epoch: Lens = (cands, ctx, params) => {
  if (cands.length === 0) return empty('epoch', cands)
  const timeline = epochTimeline(ctx.epochs)
  if (timeline.length === 0) {
    // Epochs by agents not trusted here are named in the explanation already; "none defined" would contradict it.
    const why = ctx.ignoredEpochs?.length
      ? 'no epoch counts here: every one this store holds is by an agent not trusted here'
      : 'no epochs are defined (add one with `steme epoch <name> --starts <date>`)'
    return declined('epoch', cands, ctx, 'abstain', [why])
  }
  const current = currentEpoch(timeline, ctx)
  const order = timeline.map((e) => e.name)
  const upTo = current === undefined ? -1 : order.indexOf(current)
  const eraOf = new Map(cands.map((a) => [a.id, epochOf(a, timeline)]))
  // Walk back from the current epoch to the first era with candidates; "before any epoch" last.
  let chosen: string | undefined
  let inEra = cands.filter((a) => eraOf.get(a.id) === undefined)
  for (let i = upTo; i >= 0; i--) {
    const here = cands.filter((a) => eraOf.get(a.id) === order[i])
    if (here.length) {
      chosen = order[i]
      inEra = here
      break
    }
  }
  if (inEra.length === 0) return declined('epoch', cands, ctx, 'abstain', [`every candidate belongs to an epoch after the current one (${current === undefined ? 'none yet' : field(current)})`])
  let res = consensus(inEra, ctx, params)
  let how = 'consensus within it'
  if (res.status !== 'decided') {
    res = recency(inEra, ctx, params)
    how = res.status === 'tie' ? 'consensus tied, and its latest values share one hlc' : 'consensus tied, so the latest within it'
  }
  const era = chosen === undefined ? 'the time before any epoch' : `epoch "${field(chosen)}"${chosen === current ? ' (current)' : ` (the latest with candidates; current is "${field(current ?? '')}")`}`
  return {
    ...res,
    lens: 'epoch',
    explanation: [`${plural(inEra.length, 'candidate')} of ${cands.length} ${inEra.length === 1 ? 'belongs' : 'belong'} to ${era}; ${how}`, ...res.explanation],
  }
}
