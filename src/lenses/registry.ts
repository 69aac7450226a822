/** Every lens and filter by name, and resolution through an expression: lifecycle, filters, then a fallback chain. */
import {UserError} from '../core/errors.js'
import {parseDate} from '../core/hlc.js'
import type {Assertion} from '../core/record.js'
import {field} from '../core/text.js'
import {authority} from './authority.js'
import {confidence} from './confidence.js'
import {consensus} from './consensus.js'
import {epoch} from './epoch.js'
import {epochOf, epochTimeline, ignoredEpochsNote} from './epochs.js'
import {parseExpression, type Expression} from './expression.js'
import {FILTERS, lifecycle, validAt, type LifecycleOptions} from './filters.js'
import {recency} from './recency.js'
import {reliability} from './reliability.js'
import {skeptic} from './skeptic.js'
import {trust} from './trust.js'
import type {Lens, LensContext, Resolution} from './types.js'
import {rangeOf, STRETCHES_MAX, stretches, type Stretch} from './validity.js'
import {votes} from './votes.js'
import {fmt, plural, valueKey} from './values.js'
import {LENS_PARAMS, type LensName, type ParamSpec} from './params.js'

/** Each lens, and its parameters (params.ts: the config check reads them without loading the lenses). */
export const LENSES: Record<LensName, {lens: Lens; describe: string; params: Readonly<Record<string, ParamSpec>>}> = {
  recency: {lens: recency, describe: 'the latest assertion (by hlc) wins; values last asserted at the same hlc tie', params: LENS_PARAMS.recency},
  confidence: {lens: confidence, describe: 'the highest stated confidence wins', params: LENS_PARAMS.confidence},
  consensus: {lens: consensus, describe: 'the value most distinct witnesses (sources, or agents citing none) stand behind', params: LENS_PARAMS.consensus},
  votes: {lens: votes, describe: 'consensus plus the net up/down votes of distinct agents', params: LENS_PARAMS.votes},
  authority: {lens: authority, describe: 'the value from the highest-ranked source or agent in a configured order', params: LENS_PARAMS.authority},
  trust: {lens: trust, describe: 'the value with the most EigenTrust score behind it (distinct agents, each for its latest word)', params: LENS_PARAMS.trust},
  skeptic: {lens: skeptic, describe: 'consensus, but no winner when the conflict score exceeds a threshold (default 0.5); shows the camps', params: LENS_PARAMS.skeptic},
  epoch: {lens: epoch, describe: 'only the latest epoch with candidates counts; consensus, then recency, within it', params: LENS_PARAMS.epoch},
  reliability: {lens: reliability, describe: 'source reliability learned from agreement across all subjects (iterative truth discovery)', params: LENS_PARAMS.reliability},
}

export const LENS_NAMES = Object.keys(LENSES)

/** Parse and check an expression (lens names, filter args, parameters) before any store access. */
export function compile(text: string, configParams: LensContext['params'] = {}): Expression {
  const expr = parseExpression(text, {lenses: LENS_NAMES, filters: Object.keys(FILTERS)})
  for (const f of expr.filters) FILTERS[f.filter].check?.(f.arg)
  for (const step of expr.chain) {
    const spec = LENSES[step.lens as LensName].params
    const merged = {...configParams[step.lens], ...step.params}
    for (const [k, v] of Object.entries(step.params)) {
      if (!(k in spec)) throw new UserError(`lens ${step.lens} has no parameter "${field(k)}"`, {hint: Object.keys(spec).length ? `its parameters: ${Object.keys(spec).join(', ')}` : `${step.lens} takes no parameters`})
    }
    for (const [k, {check}] of Object.entries(spec)) {
      const problem = merged[k] === undefined ? undefined : check?.(merged[k])
      if (problem) throw new UserError(`${step.lens} ${k}=${JSON.stringify(merged[k])}: ${problem}`)
    }
  }
  return expr
}

/** The one lens by name (for tests and tools); unknown names are a usage error. */
export function lensByName(name: string): Lens {
  const spec = Object.hasOwn(LENSES, name) ? LENSES[name as LensName] : undefined
  if (!spec) throw new UserError(`unknown lens "${field(name)}"`, {hint: `known lenses: ${LENS_NAMES.join(', ')}`})
  return spec.lens
}

/** What the expression's filters have to say about this store, whatever the candidates: an epoch no record declares. */
export function filterNotes(expr: Expression, ctx: LensContext): string[] {
  return expr.filters.flatMap((f) => FILTERS[f.filter].note?.(f.arg, ctx) ?? [])
}

/** How many candidates the lifecycle set aside, and why: each under its first reason, the state `--all` shows. */
function setAside(cands: readonly Assertion[], ctx: LensContext, opts: LifecycleOptions): string | undefined {
  let retracted = 0
  let superseded = 0
  let invalid = 0
  for (const a of cands) {
    if (!opts.includeRetracted && ctx.retracted.has(a.id)) retracted++
    else if (!opts.includeSuperseded && ctx.superseded.has(a.id)) superseded++
    else if (ctx.validAt !== undefined && !validAt(a, ctx.validAt)) invalid++
  }
  const parts = [retracted && `${retracted} retracted`, superseded && `${superseded} superseded`, invalid && `${invalid} not valid at ${field(ctx.validAt ?? '')}`].filter(Boolean)
  if (!parts.length) return undefined
  return `${plural(retracted + superseded + invalid, 'candidate')} set aside: ${parts.join(', ')}`
}

/**
 * The instants at which the epoch current changes what `epoch:current` or the `epoch` lens make of
 * these candidates: the start of each epoch one of them belongs to, and of the epoch after it (where
 * `epoch:current` stops keeping them). At any other epoch's start the answer stays as it was: the
 * lens walks back to the latest epoch with candidates, which has not changed, and the filter keeps
 * none before and after. Every start would count a store's epochs against each pair's stretches:
 * with 64 of them every ranged pair fell back to the score over all dates, lower than a date's.
 */
function epochCuts(epochs: LensContext['epochs'], cands: readonly Assertion[]): number[] {
  const timeline = epochTimeline(epochs)
  const eras = new Set(cands.map((a) => epochOf(a, timeline)))
  const out: number[] = []
  timeline.forEach((e, i) => {
    if (!eras.has(e.name)) return
    out.push(e.starts)
    if (i + 1 < timeline.length) out.push(timeline[i + 1].starts)
  })
  return out
}

/**
 * The conflict score without a date where live candidates carry `valid` ranges: per lens step of
 * the chain and for the whole expression, the highest score at any one instant, each stretch of
 * time in which the same assertions hold worked out as `--valid-at` an instant of it would (the
 * assertions holding then, the filters and lenses with that date). Lazy: a lens that never asks
 * (only skeptic does) and a pair without ranges cost nothing. `capped` when the ranges make more
 * stretches than STRETCHES_MAX: the lenses' own score (over time, with their belief over all
 * dates) stands then.
 *
 * As at a date, a candidate superseded only by assertions with a `valid` range (ctx.supersededWhile)
 * is set aside only where one of them holds: their ranges cut time too, and a stretch before they
 * held has it back (`back`). Where the expression asks which epoch is current (`epoch:current`, the
 * epoch lens), which `--valid-at` reads from the date, epoch starts cut time as well.
 */
function overTime(
  expr: Expression,
  cands: readonly Assertion[],
  live: readonly Assertion[],
  ctx: LensContext,
  opts: LifecycleOptions,
): {capped: number; anyDate: boolean; by: string[]} | {step: (i: number) => number; final: () => Highest; stretches: number; back: ReadonlySet<string>; anyDate: boolean} | undefined {
  if (ctx.validAt !== undefined) return undefined
  const whileBy = opts.includeSuperseded ? undefined : ctx.supersededWhile
  const back = whileBy ? cands.filter((a) => whileBy.has(a.id) && ctx.superseded.has(a.id) && (opts.includeRetracted || !ctx.retracted.has(a.id))) : []
  // At a date the candidates are those holding then: one instant. Without ranges (the common case), every instant is alike.
  if (!back.length && !live.some((a) => a.valid !== undefined)) return undefined
  const also: Parameters<typeof stretches>[3] = {}
  let supersededAt = (_ms: number): ReadonlyMap<string, string> => ctx.superseded
  if (back.length) {
    const supersededBy = new Map(back.map((a) => [a.id, whileBy!.get(a.id)!.map((s) => rangeOf(s))]))
    const holds = (id: string, ms: number) => supersededBy.get(id)?.some(([from, to]) => from <= ms && ms < to) ?? false
    also.ranges = [...new Set(back.flatMap((a) => whileBy!.get(a.id)!))]
    also.aside = (a, ms) => holds(a.id, ms)
    // What `--valid-at` that instant supersedes: the lenses read the candidates alone, but the context stays true to the date.
    supersededAt = (ms) => new Map([...ctx.superseded].filter(([id]) => !supersededBy.has(id) || holds(id, ms)))
  }
  const epochal = ctx.epochs.length > 0 && (expr.filters.some((f) => f.filter === 'epoch' && f.arg === 'current') || expr.chain.some((s) => s.lens === 'epoch'))
  const held = back.length ? [...live, ...back] : live
  if (epochal) also.instants = epochCuts(ctx.epochs, held)
  const cut = stretches(held, valueKey, STRETCHES_MAX, also)
  if (!cut.stretches) return {capped: cut.count, anyDate: back.length > 0 || epochal, by: [...(also.ranges?.length ? ['superseding'] : []), ...(also.instants?.length ? ['epochs'] : [])]}
  const at = cut.stretches.map((s, k) => {
    const c: LensContext = {...ctx, validAt: s.at, superseded: supersededAt(parseDate(s.at))}
    let cands = s.holding
    for (const f of expr.filters) cands = FILTERS[f.filter].run(cands, f.arg, c)
    return {c, cands, s, k}
  })
  // Each lens step runs once per stretch: a step's own highest (skeptic's threshold asks for it, and
  // every lens's score does) and the chain's read the same run. Only its status and score are kept.
  const runs = at.map(() => new Array<Pick<Resolution, 'status' | 'conflict'> | undefined>(expr.chain.length))
  const run = (i: number, x: (typeof at)[number]) => {
    let r = runs[x.k][i]
    if (r === undefined) {
      const {status, conflict} = LENSES[expr.chain[i].lens as LensName].lens(x.cands, x.c, {...ctx.params[expr.chain[i].lens], ...expr.chain[i].params})
      runs[x.k][i] = r = {status, conflict}
    }
    return r
  }
  // The highest of a score over the stretches; none is above 1, so one at 1 ends the search.
  const highest = (score: (x: (typeof at)[number]) => number): Highest => {
    let worst: Highest = {conflict: 0}
    for (let k = 0; k < at.length && worst.conflict < 1; k++) {
      const c = score(at[k])
      if (c > worst.conflict) worst = {conflict: c, stretch: at[k].s}
    }
    return worst
  }
  const memo = new Map<number, Highest>()
  const stepAt = (i: number) => {
    let worst = memo.get(i)
    if (worst === undefined) memo.set(i, (worst = highest((x) => run(i, x).conflict)))
    return worst
  }
  // The chain as it runs at each instant: the score of the lens that ends it there.
  const chained = (x: (typeof at)[number]) => {
    for (let i = 0; ; i++) {
      const res = run(i, x)
      if (res.status === 'decided' || res.status === 'empty' || i === expr.chain.length - 1) return res.conflict
    }
  }
  let final: Highest | undefined
  const backIds = new Set(back.map((a) => a.id))
  return {step: (i) => stepAt(i).conflict, final: () => (expr.chain.length === 1 ? stepAt(0) : (final ??= highest(chained))), stretches: at.length, back: backIds, anyDate: back.length > 0 || epochal}
}

/** The highest score over the stretches, and the first stretch that has it (none when every one scores 0). */
type Highest = {conflict: number; stretch?: Stretch}

/** Where the score without a date comes from, for the explanation: the stretch and the date that gives it. */
function mostContested(h: Highest, stretches: number, back: ReadonlySet<string>): string {
  const s = h.stretch!
  const when = s.from === undefined ? (s.to === undefined ? 'at every date' : `before ${s.to}`) : s.to === undefined ? `from ${s.from} on` : `from ${s.from} until ${s.to}`
  const of = stretches === 1 ? 'the one stretch' : `the most contested of ${plural(stretches, 'stretch')}`
  // A candidate set aside as superseded, back because what supersedes it does not hold then: say so, or the score looks baseless.
  const returned = back.size ? s.holding.filter((a) => back.has(a.id)).length : 0
  const why = returned ? `; ${plural(returned, 'superseded candidate')} ${returned === 1 ? 'counts' : 'count'} there, as what supersedes ${returned === 1 ? 'it does' : 'them does'} not hold then` : ''
  return `conflict ${fmt(h.conflict)} is the highest at any one date: ${when} (--valid-at ${s.date} gives it), ${of} of time in which two values hold${why}`
}

/**
 * Resolve candidates through a compiled expression. Same inputs, same output: candidate order does
 * not matter. Without a date, where candidates carry `valid` ranges, the conflict score is the
 * highest any one instant gets (see overTime); the ranking, probabilities and winner are the
 * lenses' over all dates.
 */
export function resolve(expr: Expression, cands: readonly Assertion[], ctx: LensContext, opts: LifecycleOptions = {}): Resolution {
  const subject = cands[0]?.subject ?? ''
  const predicate = cands[0]?.predicate ?? ''
  let live = lifecycle(cands, ctx, opts)
  const over = overTime(expr, cands, live, ctx, opts)
  const notes = filterNotes(expr, ctx)
  const aside = setAside(cands, ctx, opts)
  if (aside) notes.push(aside)
  if (expr.filters.some((f) => f.filter === 'epoch') || expr.chain.some((s) => s.lens === 'epoch')) notes.push(...ignoredEpochsNote(ctx))
  for (const f of expr.filters) {
    const before = live.length
    live = FILTERS[f.filter].run(live, f.arg, ctx)
    notes.push(`filter ${f.filter}:${field(f.arg)} kept ${live.length} of ${before}`)
  }
  let res: Resolution | undefined
  const fellBack: string[] = []
  for (let i = 0; i < expr.chain.length; i++) {
    const step = expr.chain[i]
    const c = over && 'step' in over ? {...ctx, conflictOverTime: () => over.step(i)} : ctx
    res = LENSES[step.lens as LensName].lens(live, c, {...ctx.params[step.lens], ...step.params})
    if (res.status === 'decided' || res.status === 'empty' || i === expr.chain.length - 1) break
    fellBack.push(`${step.lens}: ${res.status} (${res.explanation[0] ?? ''})`)
  }
  // One value without a date has no conflict at any date, unless a date has candidates it has not:
  // one superseded only from a date on, or another epoch current then.
  const highest = over && 'final' in over && (res!.candidates.length > 1 || over.anyDate) ? over.final() : undefined
  if (highest?.stretch) notes.push(mostContested(highest, (over as {stretches: number}).stretches, (over as {back: ReadonlySet<string>}).back))
  // Said only where there is a score to explain: one value has no conflict at any date.
  // As above: one value without a date may be two at some date, which the fallback cannot see, so say so then too.
  const capped = over && 'capped' in over && (res!.candidates.length > 1 || over.anyDate) ? over.capped : undefined
  if (capped !== undefined) {
    const by = (over as {by: string[]}).by
    const with_ = by.length ? ` (with ${by.map((b) => (b === 'epochs' ? 'the starts of the epochs they belong to' : 'the ranges of assertions superseding them')).join(' and ')})` : ''
    notes.push(
      `the valid ranges here${with_} cut time into ${capped} stretches, more than the ${STRETCHES_MAX} worked out one by one, so the conflict score weighs each value with its belief over all dates wherever it holds (--valid-at gives a date's own)`,
    )
  }
  return {
    ...res!,
    lens: expr.text,
    decidedBy: res!.winner ? res!.lens : undefined,
    subject: subject || res!.subject,
    predicate: predicate || res!.predicate,
    ...(highest ? {conflict: highest.conflict} : {}),
    ...(highest?.stretch ? {conflictAt: highest.stretch.date} : {}),
    ...(capped !== undefined ? {cappedStretches: capped} : {}),
    explanation: [...notes, ...fellBack.map((t) => `fell back from ${t}`), ...res!.explanation],
  }
}
