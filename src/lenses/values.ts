/** Shared pieces every lens uses: witnesses, grouping by value, ranking with the id tie-break, conflict scores. */
import {canonicalize} from '../core/canonical.js'
import type {Assertion} from '../core/record.js'
import {compareRecords} from '../core/store.js'
import type {LensContext, RankedValue, Resolution, Status} from './types.js'
import {conflictOverTime} from './validity.js'

/**
 * Who vouches for an assertion: its source when it cites one, else its agent. Consensus counts
 * witnesses, so one agent repeating itself, or two agents copying one source, count once.
 */
export const witnessOf = (a: Assertion): string => (a.source !== undefined ? `source:${a.source}` : `agent:${a.agent}`)

export interface ValueGroup {
  key: string
  members: Assertion[]
  /** For a group of several JSON forms (reliability: values with the same elements), the form shown and its witnesses. */
  value?: Assertion['value']
  witnesses?: number
}

const keys = new WeakMap<Assertion, string>()
/**
 * Canonical JSON of an assertion's value. Objects and arrays are memoised (lenses ask often);
 * a scalar's text costs less to recompute than a WeakMap entry, which every query made anew.
 */
export function valueKey(a: Assertion): string {
  const v = a.value
  if (typeof v !== 'object' || v === null) return canonicalize(v)
  let k = keys.get(a)
  if (k === undefined) keys.set(a, (k = canonicalize(a.value)))
  return k
}

/** Candidates in (hlc, id) order, whatever order they came in. */
export const ordered = (cands: readonly Assertion[]): Assertion[] => [...cands].sort(compareRecords)

/** Group assertions by canonical value; members keep (hlc, id) order. */
export function groupByValue(cands: readonly Assertion[]): ValueGroup[] {
  const groups = new Map<string, ValueGroup>()
  for (const a of ordered(cands)) {
    const key = valueKey(a)
    let g = groups.get(key)
    if (!g) groups.set(key, (g = {key, members: []}))
    g.members.push(a)
  }
  return [...groups.values()]
}

/** Each witness's latest assertion (by hlc, id): a witness that changed its mind counts for its last word. */
export function latestPerWitness(cands: readonly Assertion[]): Map<string, Assertion> {
  const out = new Map<string, Assertion>()
  for (const a of ordered(cands)) out.set(witnessOf(a), a)
  return out
}

/** Witnesses per value key, counting each witness for its latest assertion only. */
export function witnessesByValue(cands: readonly Assertion[]): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const [w, a] of latestPerWitness(cands)) {
    const k = valueKey(a)
    const list = out.get(k)
    if (list) list.push(w)
    else out.set(k, [w])
  }
  return out
}

/**
 * Each agent's latest word per witness: its latest assertion per source it cites (or citing
 * none). Lenses that weigh agents or what their assertions say (trust, confidence, authority)
 * count an agent that has since said otherwise for its new word only, as consensus does; keyed
 * by agent as well, so another agent citing the same source later cannot displace it.
 */
export function latestPerAgent(cands: readonly Assertion[]): Assertion[] {
  const out = new Map<string, Assertion>()
  for (const a of ordered(cands)) out.set(`${a.agent}\u0000${witnessOf(a)}`, a)
  return [...out.values()]
}

/** The distinct agents behind each value key, by their latest words (latestPerAgent). */
export function latestBackers(cands: readonly Assertion[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>()
  for (const a of latestPerAgent(cands)) {
    const k = valueKey(a)
    let s = out.get(k)
    if (!s) out.set(k, (s = new Set()))
    s.add(a.agent)
  }
  return out
}

/**
 * The largest of some numbers (-Infinity for none). A loop, not Math.max(...xs): spread arguments
 * overflow the stack past about 125,000, and a pair flooded with candidates failed every query.
 */
export function maxOf(xs: Iterable<number>): number {
  let m = -Infinity
  for (const x of xs) if (x > m || Number.isNaN(x)) m = x
  return m
}

const minId = (g: ValueGroup) => g.members.reduce((m, a) => (a.id < m ? a.id : m), g.members[0].id)
const EPS = 1e-12

/**
 * Turn scored groups into ranked values, best first; equal scores fall back to the smallest id.
 * `probability` defaults to each group's share of the positive scores.
 */
export function rank(groups: readonly ValueGroup[], score: (g: ValueGroup) => number, probability?: (g: ValueGroup) => number): RankedValue[] {
  const scored = groups.map((g) => ({g, s: score(g), id: minId(g)}))
  const total = scored.reduce((t, x) => t + Math.max(0, x.s), 0)
  scored.sort((a, b) => (Math.abs(b.s - a.s) > EPS ? b.s - a.s : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const all = groups.flatMap((g) => g.members)
  const latestWit = witnessesByValue(all)
  // Agents behind a value now: those whose latest word it is (a group may hold several JSON forms).
  const backers = latestBackers(all)
  // A group without `value` holds the one form its key names: no member's key to compute again.
  const agentsOf = (g: ValueGroup) =>
    g.value === undefined ? (backers.get(g.key)?.size ?? 0) : new Set([...new Set(g.members.map(valueKey))].flatMap((k) => [...(backers.get(k) ?? [])])).size
  return scored.map(({g, s}) => ({
    value: g.value ?? g.members[0].value,
    key: g.key,
    score: s,
    probability: probability ? probability(g) : total > 0 ? Math.max(0, s) / total : 1 / scored.length,
    ids: g.members.map((a) => a.id),
    agents: agentsOf(g),
    witnesses: g.witnesses ?? latestWit.get(g.key)?.length ?? 0,
  }))
}

/**
 * Share of belief against the winner, scaled so an even split over the k values that have any
 * belief is 1 and a single one 0. Values at probability 0 (one nobody's latest word holds any
 * more, one nobody trusted asserts) do not count in k: they made a 2:1 split read as 0.5, the
 * 3:1 figure, so skeptic decided what it should contest.
 */
export function conflictOf(ranked: readonly RankedValue[]): number {
  if (ranked.length < 2) return 0
  const total = ranked.reduce((t, r) => t + r.probability, 0)
  if (!(total > 0)) return 1
  const k = ranked.filter((r) => r.probability > 0).length
  if (k < 2) return 0
  const top = maxOf(ranked.map((r) => r.probability)) / total
  // Rounded to 12 places: a 7:3 split came out 0.6000000000000001, which skeptic(threshold=0.6)
  // contested ("conflict 0.600 exceeds the threshold 0.600") and --json showed as it was.
  return Math.round(Math.min(1, Math.max(0, ((1 - top) * k) / (k - 1))) * 1e12) / 1e12
}

/**
 * The conflict score a lens reports by itself: conflictOf, but where candidates carry `valid`
 * ranges, the highest at any one instant of the values holding then, weighed by the lens's belief
 * over all dates (validity.ts conflictOverTime): a timeline, one value after another, is no
 * conflict. Through resolve, a pair of at most STRETCHES_MAX stretches gets instead the score each
 * instant's own resolution gives (ctx.conflictOverTime); this is what stands past that cap.
 * Without ranges (the common case), and at a --valid-at date (`validAt`, the candidates already
 * narrowed to those holding then), exactly conflictOf.
 */
export function conflictIn(ranked: readonly RankedValue[], cands: readonly Assertion[], validAt: string | undefined): number {
  // At a --valid-at date the candidates are those that hold then: one instant, every value in it.
  return validAt !== undefined || ranked.length < 2 || !cands.some((a) => a.valid !== undefined) ? conflictOf(ranked) : conflictOverTime(ranked, cands, conflictOf)
}

/**
 * The score a lens reports: without a date, where resolve has worked out the highest score at any
 * one instant (ctx.conflictOverTime), that one, and the sweep over the belief for all dates is not
 * run for nothing; else conflictIn.
 */
const conflictFor = (ranked: readonly RankedValue[], cands: readonly Assertion[], ctx: Pick<LensContext, 'validAt' | 'conflictOverTime'>): number =>
  ctx.validAt === undefined && ctx.conflictOverTime && ranked.length > 1 ? ctx.conflictOverTime() : conflictIn(ranked, cands, ctx.validAt)

/** True when the two best scores are equal: the winner then rests on the id tie-break. */
export const isTie = (ranked: readonly RankedValue[]): boolean => ranked.length > 1 && Math.abs(ranked[0].score - ranked[1].score) <= EPS

/** Build a resolution from ranked values: decided or tie, with the conflict score (over time, or at `ctx.validAt`). */
export function resolved(lens: string, cands: readonly Assertion[], ranked: RankedValue[], why: string[], ctx: Pick<LensContext, 'validAt' | 'conflictOverTime'>, opts: {status?: Status} = {}): Resolution {
  const tie = isTie(ranked)
  const status = opts.status ?? (ranked.length === 0 ? 'empty' : tie ? 'tie' : 'decided')
  const explanation = [...why]
  if (status === 'tie') {
    // Every tied value, not just the runner-up: a three-way tie is not a two-way one.
    const tied = ranked.filter((r) => Math.abs(r.score - ranked[0].score) <= EPS).map((r) => showValue(r.key))
    const names = tied.length <= 3 ? `${tied.slice(0, -1).join(', ')} and ${tied[tied.length - 1]}` : `${tied.slice(0, 3).join(', ')} and ${tied.length - 3} more`
    const smallest = ranked[0].ids.reduce((m, id) => (id < m ? id : m))
    explanation.push(`${names} score the same (${fmt(ranked[0].score)}); the smallest id breaks the tie (${short(smallest)}, ${showValue(ranked[0].key)})`)
  }
  return {
    lens,
    subject: cands[0]?.subject ?? '',
    predicate: cands[0]?.predicate ?? '',
    status,
    winner: status === 'decided' || status === 'tie' ? ranked[0] : undefined,
    candidates: ranked,
    conflict: conflictFor(ranked, cands, ctx),
    explanation,
  }
}

/**
 * A lens with nothing to go on, or no candidates: no winner, the candidates still ranked for --all
 * (DESIGN.md §3: every candidate value, ranked). A lens that has no scores to give them ranks them
 * all at 0, in id order, as one with scores that are all 0 would.
 */
export function declined(
  lens: string,
  cands: readonly Assertion[],
  ctx: Pick<LensContext, 'validAt' | 'conflictOverTime'>,
  status: 'abstain' | 'contested' | 'empty',
  why: string[],
  ranked: RankedValue[] = rank(groupByValue(cands), () => 0),
): Resolution {
  return {lens, subject: cands[0]?.subject ?? '', predicate: cands[0]?.predicate ?? '', status, candidates: ranked, conflict: conflictFor(ranked, cands, ctx), explanation: why}
}

export const empty = (lens: string, cands: readonly Assertion[]) => declined(lens, cands, {}, 'empty', ['no candidates'])

export const short = (id: string) => id.slice(0, 12)
export const showValue = (key: string) => (key.length > 60 ? key.slice(0, 57) + '...' : key)
/** A score or rate for a sentence: three decimals, or its leading digits when that would show a non-zero number as 0.000. */
export const fmt = (x: number) => (Number.isInteger(x) ? String(x) : Math.abs(x) < 0.0005 ? String(Number(x.toPrecision(3))) : x.toFixed(3))
export {plural} from '../core/words.js'
