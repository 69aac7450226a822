/** Every lens and filter by name, and resolution through an expression: lifecycle, filters, then a fallback chain. */
import {UserError} from '../core/errors.js'
import type {Assertion} from '../core/record.js'
import {field} from '../core/text.js'
import {authority} from './authority.js'
import {confidence} from './confidence.js'
import {consensus} from './consensus.js'
import {epoch} from './epoch.js'
import {ignoredEpochsNote} from './epochs.js'
import {parseExpression, type Expression} from './expression.js'
import {FILTERS, lifecycle, validAt, type LifecycleOptions} from './filters.js'
import {recency} from './recency.js'
import {reliability} from './reliability.js'
import {skeptic} from './skeptic.js'
import {trust} from './trust.js'
import type {Lens, LensContext, Resolution} from './types.js'
import {votes} from './votes.js'
import {plural} from './values.js'
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

/** Resolve candidates through a compiled expression. Same inputs, same output: candidate order does not matter. */
export function resolve(expr: Expression, cands: readonly Assertion[], ctx: LensContext, opts: LifecycleOptions = {}): Resolution {
  const subject = cands[0]?.subject ?? ''
  const predicate = cands[0]?.predicate ?? ''
  let live = lifecycle(cands, ctx, opts)
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
    res = LENSES[step.lens as LensName].lens(live, ctx, {...ctx.params[step.lens], ...step.params})
    if (res.status === 'decided' || res.status === 'empty' || i === expr.chain.length - 1) break
    fellBack.push(`${step.lens}: ${res.status} (${res.explanation[0] ?? ''})`)
  }
  return {
    ...res!,
    lens: expr.text,
    decidedBy: res!.winner ? res!.lens : undefined,
    subject: subject || res!.subject,
    predicate: predicate || res!.predicate,
    explanation: [...notes, ...fellBack.map((t) => `fell back from ${t}`), ...res!.explanation],
  }
}
