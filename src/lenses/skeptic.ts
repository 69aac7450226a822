/** Skeptic: consensus, but no winner when the conflict score exceeds a threshold; shows the camps instead. */
import {consensus} from './consensus.js'
import type {Assertion} from '../core/record.js'
import type {Lens, RankedValue} from './types.js'
import {valuesOverlap} from './validity.js'
import {declined, empty, fmt, plural, showValue, valueKey} from './values.js'

/** Default: contested once the winner holds under about 3/4 of the witnesses in a two-way split. */
export const SKEPTIC_THRESHOLD = 0.5

export function threshold(params: Readonly<Record<string, unknown>>): number {
  const t = params.threshold === undefined ? SKEPTIC_THRESHOLD : Number(params.threshold)
  return t
}

/** Do the values tied at the top of a ranking hold at some one instant (by their candidates' valid ranges)? */
function tiedValuesMeet(cands: readonly Assertion[], ranked: readonly RankedValue[]): boolean {
  const tied = new Set(ranked.filter((c) => Math.abs(c.score - ranked[0].score) <= 1e-12).map((c) => c.key))
  return valuesOverlap(cands.filter((a) => tied.has(valueKey(a))), valueKey)
}

export const skeptic: Lens = (cands, ctx, params) => {
  if (cands.length === 0) return empty('skeptic', cands)
  const t = threshold(params)
  const base0 = consensus(cands, ctx, params)
  // Without a date, the conflict of the most contested instant (as `--valid-at` gives it), which
  // the score `query` reports and `steme conflicts` ranks by: the threshold reads the same number.
  const base = ctx.validAt === undefined && ctx.conflictOverTime ? {...base0, conflict: ctx.conflictOverTime()} : base0
  // Tied values that never hold at the same time are a timeline, not rivals: the conflict score
  // (and `steme conflicts`) gives them none, so the tie alone is no reason to refuse. Without a date
  // a timeline has no single answer: the tie stands as consensus reports it, and `--valid-at` picks
  // the value holding at a date. (At a date, the candidates are those holding then: tied, they meet.)
  const timeline = base.status === 'tie' && ctx.validAt === undefined && !tiedValuesMeet(cands, base.candidates)
  if (base.conflict <= t && (base.status === 'decided' || timeline)) {
    const why = timeline ? ['the tied values never hold at the same time (a timeline), so they are not rivals'] : []
    return {...base, lens: 'skeptic', explanation: [...base.explanation, ...why, `conflict ${fmt(base.conflict)} is within the threshold ${fmt(t)}${timeline ? '; --valid-at gives the value holding at a date' : ''}`]}
  }
  const camps = base.candidates.map((c) => `${showValue(c.key)}: ${plural(c.witnesses, 'witness')} (${(c.probability * 100).toFixed(0)}%)`)
  const why = base.status === 'tie' && !timeline ? 'the top values tie' : `conflict ${fmt(base.conflict)} exceeds the threshold ${fmt(t)}`
  return {...declined('skeptic', cands, ctx, 'contested', [`no winner: ${why}. Camps: ${camps.join('; ')}`], base.candidates), conflict: base.conflict}
}
