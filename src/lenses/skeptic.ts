/** Skeptic: consensus, but no winner when the conflict score exceeds a threshold; shows the camps instead. */
import {consensus} from './consensus.js'
import type {Lens} from './types.js'
import {valuesOverlap} from './validity.js'
import {declined, empty, fmt, plural, showValue, valueKey} from './values.js'

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
  if (base.conflict <= t && base.status === 'tie' && ctx.validAt === undefined) {
    // Tied values that never hold at the same time are a timeline, not rivals: the conflict score
    // (and `steme conflicts`) gives them none, so there are no camps to refuse between. Without a
    // date a timeline has no single answer: the tie stands as consensus reports it, and `--valid-at`
    // picks the value holding at a date.
    const top = base.candidates[0].score
    const tied = new Set(base.candidates.filter((c) => Math.abs(c.score - top) <= 1e-12).map((c) => c.key))
    if (!valuesOverlap(cands.filter((a) => tied.has(valueKey(a))), valueKey)) {
      return {
        ...base,
        lens: 'skeptic',
        explanation: [...base.explanation, `the tied values never hold at the same time (a timeline, conflict ${fmt(base.conflict)}): not contested; --valid-at gives the value holding at a date`],
      }
    }
  }
  const camps = base.candidates.map((c) => `${showValue(c.key)}: ${plural(c.witnesses, 'witness')} (${(c.probability * 100).toFixed(0)}%)`)
  const why = base.status === 'tie' ? 'the top values tie' : `conflict ${fmt(base.conflict)} exceeds the threshold ${fmt(t)}`
  return declined('skeptic', cands, ctx, 'contested', [`no winner: ${why}. Camps: ${camps.join('; ')}`], base.candidates)
}
