/** Epochs: which named era an assertion belongs to, and which era is current at a reference time. */
import {parseDate, parseHlc} from '../core/hlc.js'
import type {Assertion, Epoch} from '../core/record.js'
import {compareRecords} from '../core/store.js'
import {field} from '../core/text.js'
import {closest} from '../core/words.js'
import type {LensContext} from './types.js'

/**
 * One epoch per name (the latest record by (hlc, id) defines it), ordered by start. Epochs that
 * start at the same moment are ordered as they were declared, so the one declared last (by
 * (hlc, id)) is in force from then on, as a name's latest record is: ordering them by name made
 * "a-era" declared after "b-era" at the same start hold no assertion but those naming it.
 */
export function epochTimeline(epochs: readonly Epoch[]): Array<{name: string; starts: number; record: Epoch}> {
  const byName = new Map<string, Epoch>()
  for (const e of [...epochs].sort(compareRecords)) byName.set(e.name, e)
  return [...byName.values()].map((e) => ({name: e.name, starts: parseDate(e.starts), record: e})).sort((a, b) => a.starts - b.starts || compareRecords(a.record, b.record))
}

/** The reference time of a query: --valid-at, else --as-of, else now. */
export function referenceTime(ctx: Pick<LensContext, 'validAt' | 'asOf' | 'now'>): number {
  if (ctx.validAt !== undefined) return parseDate(ctx.validAt)
  if (ctx.asOf !== undefined) return parseHlc(ctx.asOf).wall
  return ctx.now
}

/** When an assertion speaks of: the start of its validity, else when it was made. */
export const assertionTime = (a: Assertion): number => (a.valid?.from !== undefined ? parseDate(a.valid.from) : parseHlc(a.hlc).wall)

export type Timeline = ReturnType<typeof epochTimeline>

/** The epoch an assertion belongs to: the one it names, else the latest that started by its time; undefined before any. */
export function epochOf(a: Assertion, timeline: Timeline): string | undefined {
  if (a.epoch !== undefined && timeline.some((e) => e.name === a.epoch)) return a.epoch
  const t = assertionTime(a)
  let found: string | undefined
  for (const e of timeline) if (e.starts <= t) found = e.name
  return found
}

/** The epoch current at the query's reference time, if any has started. */
export function currentEpoch(timeline: Timeline, ctx: Pick<LensContext, 'validAt' | 'asOf' | 'now'>): string | undefined {
  const t = referenceTime(ctx)
  let found: string | undefined
  for (const e of timeline) if (e.starts <= t) found = e.name
  return found
}

/**
 * What to tell a user who names an epoch no record declares (a typo, or one whose record has not
 * arrived by sync yet): the declared names nearest to it. Undefined when it is declared.
 */
export function unknownEpoch(name: string, epochs: readonly Pick<Epoch, 'name'>[]): string | undefined {
  const known = epochs.map((e) => e.name)
  if (known.includes(name)) return undefined
  const near = closest(name, known, {any: true})
  return `no record declares an epoch named "${field(name)}"` + (near.length ? ` (closest known: ${near.map((n) => `"${field(n)}"`).join(', ')})` : ' (none is declared here; `steme epoch <name> --starts <date>` declares one)')
}

/**
 * Why epochs the store holds play no part: their authors are not trusted here (a few named, the
 * rest counted), so an answer that ignores someone's epoch says so.
 */
export function ignoredEpochsNote(ctx: Pick<LensContext, 'ignoredEpochs'>): string[] {
  const ignored = [...(ctx.ignoredEpochs ?? [])].sort(compareRecords)
  if (!ignored.length) return []
  const named = ignored.slice(0, 3).map((e) => `"${field(e.name)}" (by ${e.agent.slice(0, 12)})`)
  const more = ignored.length > 3 ? ` and ${ignored.length - 3} more` : ''
  const one = ignored.length === 1
  return [
    `epoch${one ? '' : 's'} ${named.join(', ')}${more} ignored: ${one ? 'its author is' : 'their authors are'} not trusted here (epochs count from the store's own key, pre-trusted agents and tier trusted or above; \`steme trust <agent> <weight>\` or [trust] pretrusted to change that)`,
  ]
}
