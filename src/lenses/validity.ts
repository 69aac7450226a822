/** When values hold in the world: `valid` ranges as instants, whether two values ever hold at once, and the conflict over time. */
import {parseDate} from '../core/hlc.js'
import type {Assertion} from '../core/record.js'
import {compareRecords} from '../core/store.js'
import type {RankedValue} from './types.js'

/**
 * The instants an assertion's value holds, [from, to) in ms: `to` is the first moment it no
 * longer holds, as `--valid-at` reads it (filters.ts validAt); an open end is unbounded.
 */
export function rangeOf(a: Assertion, parse: (date: string) => number = parseDate): [number, number] {
  // A date that does not parse (a record stored before dates were checked as they are now) bounds
  // nothing, as --valid-at reads it: NaN compares false there, so the range stays open at that end.
  const from = a.valid?.from === undefined ? NaN : parse(a.valid.from)
  const to = a.valid?.to === undefined ? NaN : parse(a.valid.to)
  return [Number.isNaN(from) ? -Infinity : from, Number.isNaN(to) ? Infinity : to]
}

/** parseDate for one pair's candidates, whose ranges mostly repeat a few dates: parsing was most of the sweep's cost. */
function dateParser(): (date: string) => number {
  const seen = new Map<string, number>()
  return (date) => {
    let ms = seen.get(date)
    if (ms === undefined) seen.set(date, (ms = parseDate(date)))
    return ms
  }
}

/** Does the range hold at any instant? Only `from` = `to` holds at none. */
const holdsSometime = (a: Assertion): boolean => {
  const [from, to] = rangeOf(a)
  return from < to
}

/** Start and end events of ranges, ends before starts at one instant: [a, b) and [b, c) never hold at once. */
function events<T>(items: ReadonlyArray<{range: [number, number]; tag: T}>): Array<{at: number; start: boolean; tag: T}> {
  const out: Array<{at: number; start: boolean; tag: T}> = []
  // A range with from = to holds at no instant.
  for (const {range, tag} of items) if (range[0] < range[1]) out.push({at: range[0], start: true, tag}, {at: range[1], start: false, tag})
  return out.sort((x, y) => x.at - y.at || Number(x.start) - Number(y.start))
}

/**
 * Do two different values of these assertions hold at some one instant? False for a timeline
 * ("1.2" until July, "1.3" from July): at every instant only one value holds, so the lenses give
 * it no conflict. Assertions without a range hold always.
 */
export function valuesOverlap(cands: readonly Assertion[], valueKey: (a: Assertion) => string): boolean {
  // Values asserted without a range hold always: two of them overlap, and one overlaps every other
  // value that holds at all. Only pairs where every value has a range need the sweep.
  let always: string | undefined
  for (const a of cands) {
    if (a.valid !== undefined) continue
    const k = valueKey(a)
    if (always === undefined) always = k
    else if (k !== always) return true
  }
  if (always !== undefined) return cands.some((a) => a.valid !== undefined && valueKey(a) !== always && holdsSometime(a))
  const active = new Map<string, number>()
  const parse = dateParser()
  for (const e of events(cands.map((a) => ({range: rangeOf(a, parse), tag: valueKey(a)})))) {
    const n = active.get(e.tag) ?? 0
    if (e.start) {
      if (active.size > (n > 0 ? 1 : 0)) return true
      active.set(e.tag, n + 1)
    } else if (n <= 1) active.delete(e.tag)
    else active.set(e.tag, n - 1)
  }
  return false
}

/**
 * The conflict score of ranked values over time: at each instant, among the values that hold then
 * (a value holds where any of its candidates' ranges does), the lens's probabilities weighed as
 * values.ts conflictOf weighs them (values without any belief do not count); the highest over all
 * instants. Two values conflict only where their ranges overlap. When every value holds at every
 * instant, the score is `conflictOf`'s (values.ts's, passed in: it imports this module).
 */
export function conflictOverTime(ranked: readonly RankedValue[], cands: readonly Assertion[], conflictOf: (ranked: readonly RankedValue[]) => number): number {
  // A value with a candidate without a range holds always: when every value does, one instant is all of time.
  const always = new Set<string>()
  for (const a of cands) if (a.valid === undefined) always.add(a.id)
  const lasting = ranked.map((r) => r.ids.some((id) => always.has(id)))
  if (lasting.every(Boolean)) return conflictOf(ranked)
  const byId = new Map(cands.map((a) => [a.id, a]))
  const parse = dateParser()
  const items: Array<{range: [number, number]; tag: number}> = []
  ranked.forEach((r, i) => {
    if (lasting[i]) {
      items.push({range: [-Infinity, Infinity], tag: i})
      return
    }
    for (const id of r.ids) {
      const a = byId.get(id)
      items.push({range: a ? rangeOf(a, parse) : [-Infinity, Infinity], tag: i})
    }
  })
  // Sweep the instants in order, keeping per value how many of its ranges are open, and over the
  // values holding: their summed probability, how many have any, and (lazily) the largest.
  const open = new Array<number>(ranked.length).fill(0)
  // The summed probability, compensated (Neumaier): a plain running sum of thousands of shares
  // added and taken away drifted, and an even split read 0.999999999989, not the 1 conflictOf
  // gives at that date, so `--min-score 1` dropped it. Exact again whenever nothing is believed.
  let sum = 0
  let carry = 0
  const add = (x: number) => {
    const t = sum + x
    carry += Math.abs(sum) >= Math.abs(x) ? sum - t + x : x - t + sum
    sum = t
  }
  let believed = 0
  const heap: number[] = []
  const p = (i: number) => ranked[i].probability
  const push = (i: number) => {
    heap.push(i)
    for (let c = heap.length - 1; c > 0; ) {
      const parent = (c - 1) >> 1
      if (p(heap[parent]) >= p(heap[c])) break
      ;[heap[parent], heap[c]] = [heap[c], heap[parent]]
      c = parent
    }
  }
  const pop = () => {
    const last = heap.pop()!
    if (!heap.length) return
    heap[0] = last
    for (let c = 0; ; ) {
      const l = 2 * c + 1
      const r = l + 1
      let m = c
      if (l < heap.length && p(heap[l]) > p(heap[m])) m = l
      if (r < heap.length && p(heap[r]) > p(heap[m])) m = r
      if (m === c) break
      ;[heap[m], heap[c]] = [heap[c], heap[m]]
      c = m
    }
  }
  let worst = 0
  const evs = events(items)
  for (let k = 0; k < evs.length; k++) {
    const e = evs[k]
    if (e.start) {
      if (open[e.tag]++ === 0 && p(e.tag) > 0) {
        add(p(e.tag))
        believed++
        push(e.tag)
      }
    } else if (--open[e.tag] === 0 && p(e.tag) > 0) {
      add(-p(e.tag))
      if (--believed === 0) sum = carry = 0
    }
    // Score each instant once, after every event at it.
    if (k + 1 < evs.length && evs[k + 1].at === e.at) continue
    while (heap.length && open[heap[0]] === 0) pop()
    const total = sum + carry
    if (believed < 2 || !(total > 0)) continue
    const top = p(heap[0]) / total
    worst = Math.max(worst, Math.round(Math.min(1, Math.max(0, ((1 - top) * believed) / (believed - 1))) * 1e12) / 1e12)
  }
  return worst
}

/**
 * Stretches of time worked out one by one for a pair's conflict score without a date, at most.
 * Each costs a lens run on the assertions holding in it, so a pair costs at most this many runs
 * of the lens over its candidates: linear in them, never quadratic, however many ranges a hostile
 * or huge pair carries. Every ranged assertion adds at most two boundaries, and n boundaries make
 * n + 1 stretches, so 64 covers a pair of 31 ranged assertions with dates all different, far more
 * versions than a fact usually goes through; past it the score falls back to conflictOverTime.
 */
export const STRETCHES_MAX = 64

/** One stretch of time in which the same assertions hold: an instant of it (as `--valid-at` takes a date), and those assertions. */
export interface Stretch {
  at: string
  /** A date in it to name to a person (`--valid-at` it): its start, or a day before the end of the first. */
  date: string
  /** Where it starts and ends, as dates (absent: unbounded that way). */
  from?: string
  to?: string
  holding: Assertion[]
}

/** An instant as a date: the day alone at midnight UTC, as dates are mostly written. */
const dateText = (ms: number): string => {
  const iso = new Date(ms).toISOString()
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso
}

/**
 * The stretches of time in which the set of assertions holding is constant (cut at every finite
 * `from` and `to`), each with an instant in it as an ISO date and the assertions holding then,
 * keeping only those where two values hold (elsewhere the conflict is 0). `count` is how many
 * stretches the ranges make; beyond `max` none are listed (`stretches` undefined). `also` cuts
 * time further without holding anything itself: the ranges of assertions that supersede
 * candidates (`aside` says which candidate they set aside at an instant) and instants where the
 * answer changes otherwise (epoch starts).
 */
export function stretches(
  cands: readonly Assertion[],
  valueKey: (a: Assertion) => string,
  max = STRETCHES_MAX,
  also: {ranges?: readonly Assertion[]; instants?: readonly number[]; aside?: (a: Assertion, ms: number) => boolean} = {},
): {count: number; stretches?: Stretch[]} {
  const parse = dateParser()
  const ranges = cands.map((a) => rangeOf(a, parse))
  const ends = new Set<number>()
  for (const [from, to] of also.ranges ? [...ranges, ...also.ranges.map((a) => rangeOf(a, parse))] : ranges) {
    if (Number.isFinite(from)) ends.add(from)
    if (Number.isFinite(to)) ends.add(to)
  }
  for (const ms of also.instants ?? []) if (Number.isFinite(ms)) ends.add(ms)
  // Counted before anything is sorted: past the cap, nothing more is spent here.
  const count = ends.size + 1
  if (count > max) return {count}
  const cuts = [...ends].sort((x, y) => x - y)
  // In (hlc, id) order, so each stretch's assertions come already in the order the lenses sort them into.
  const order = cands.map((_, i) => i).sort((x, y) => compareRecords(cands[x], cands[y]))
  const keys = cands.map(valueKey)
  const out: Stretch[] = []
  // The stretch before the first cut is stood for by the millisecond before it; each other by its start.
  const starts = cuts.length ? [cuts[0] - 1, ...cuts] : [0]
  for (let k = 0; k < starts.length; k++) {
    const ms = starts[k]
    const aside = also.aside
    const held = order.filter((i) => ranges[i][0] <= ms && ms < ranges[i][1] && !aside?.(cands[i], ms))
    if (!held.some((i) => keys[i] !== keys[held[0]])) continue
    const holding = held.map((i) => cands[i])
    // An instant `--valid-at` cannot name (a year outside 0000-9999) is no date anyone can ask about.
    const at = Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : ''
    if (parseDate(at) !== ms) continue
    // Stretch k runs from cut k - 1 (none before the first) to cut k (none after the last).
    const from = k > 0 ? cuts[k - 1] : undefined
    const to = k < cuts.length ? cuts[k] : undefined
    // No cut at all (every range end is a date that does not parse, so each range is open): one
    // stretch, all of time, and any date names it.
    const before = to === undefined ? NaN : to - 86_400_000
    const date = from !== undefined ? dateText(from) : to !== undefined && parseDate(dateText(before)) === before ? dateText(before) : dateText(ms)
    out.push({at, date, ...(from !== undefined ? {from: dateText(from)} : {}), ...(to !== undefined ? {to: dateText(to)} : {}), holding})
  }
  return {count, stretches: out}
}
