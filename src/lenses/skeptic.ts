/** Skeptic: consensus, but no winner when the conflict score exceeds a threshold; shows the camps instead. */
import {consensus} from './consensus.js'
import type {Lens} from './types.js'
import {declined, empty, fmt, plural, showValue} from './values.js'

/** Default: contested once the winner holds under about 3/4 of the witnesses in a two-way split. */
export const SKEPTIC_THRESHOLD = 0.5

export function threshold(params: Readonly<Record<string, unknown>>): number {
  const t = params.threshold === undefined ? SKEPTIC_THRESHOLD : Number(params.threshold)
  return t
}

export const skeptic: Lens = (cands, ctx, params) => {
  if (cands.length === 0) return empty('skeptic', cands)
  const t = threshold(params)
  const base = consensus(cands, ctx, params)
  if (base.conflict <= t && base.status === 'decided') {
    return {...base, lens: 'skeptic', explanation: [...base.explanation, `conflict ${fmt(base.conflict)} is within the threshold ${fmt(t)}`]}
  }
  const camps = base.candidates.map((c) => `${showValue(c.key)}: ${plural(c.witnesses, 'witness')} (${(c.probability * 100).toFixed(0)}%)`)
  const why = base.status === 'tie' ? 'the top values tie' : `conflict ${fmt(base.conflict)} exceeds the threshold ${fmt(t)}`
  return declined('skeptic', cands, ctx, 'contested', [`no winner: ${why}. Camps: ${camps.join('; ')}`], base.candidates)
}
