/** Resolve a subject (and predicate) through a lens expression: gather candidates and context, hand them to the lenses. */
import {hlcBound, parseDate} from '../core/hlc.js'
import {compareRecords} from '../core/store.js'
import {UserError} from '../core/errors.js'
import {field} from '../core/text.js'
import {inputName, type Naming} from '../core/naming.js'
import type {Assertion, Retract} from '../core/record.js'
import {explainRetraction} from '../lenses/cascade.js'
import {validAt} from '../lenses/filters.js'
import {short, showValue} from '../lenses/values.js'
import {compile, filterNotes, resolve} from '../lenses/registry.js'
import type {LensContext, Resolution} from '../lenses/types.js'
import {gatherContext, honours, lensParams, maySupersede, selfOf, type Policy} from './context.js'
import type {Deps} from './deps.js'
import {learnReliability} from './reliability.js'

export interface QueryInput {
  subject: string
  predicate?: string
  lens?: string
  asOf?: string
  validAt?: string
  now?: number
  includeRetracted?: boolean
  /** How messages name the inputs: as the CLI's flags (default) or as the daemon's query parameters. */
  naming?: Naming
}

export type CandidateState = 'live' | 'retracted' | 'superseded' | 'not-valid'

export interface QueryCandidate {
  id: string
  predicate: string
  agent: string
  hlc: string
  value: Assertion['value']
  confidence: number
  source?: string
  state: CandidateState
  /** Why it is not live (the retraction chain, or what superseded it); for a live one, the retractions of it this store does not honour. */
  why?: string[]
}

export interface QueryResult {
  subject: string
  lens: string
  asOf?: string
  validAt?: string
  resolutions: Resolution[]
  /** Every candidate assertion with its lifecycle state, for --all. */
  candidates: QueryCandidate[]
  /** What the lens names that this store does not know (an epoch no record declares); absent when none. */
  notes?: string[]
}

/** Check a --valid-at date the way record dates are checked; `what` names the input in the error. */
export function checkDate(text: string, what: string): string {
  if (Number.isNaN(parseDate(text))) throw new UserError(`${what} "${field(text)}" is not a date`, {hint: 'use an ISO-8601 date such as 2026-01-31 or 2026-01-31T12:00:00Z'})
  return text
}

/** What the local policy needs to say which retractions it set aside: absent when the context came without them. */
type PolicyView = {policy?: Policy; retractions?: readonly Retract[]; superseders?: readonly Assertion[]}

export function candidateState(a: Assertion, ctx: LensContext & PolicyView): {state: CandidateState; why?: string[]} {
  if (ctx.retracted.has(a.id)) return {state: 'retracted', why: explainRetraction(a.id, ctx.retracted)}
  const by = ctx.superseded.get(a.id)
  if (by) return {state: 'superseded', why: [`superseded by ${by}`]}
  if (ctx.validAt !== undefined && !validAt(a, ctx.validAt)) return {state: 'not-valid', why: [`its valid range ${JSON.stringify(a.valid)} does not cover ${field(ctx.validAt)}`]}
  const ignored = unhonoured(a, ctx)
  return ignored.length ? {state: 'live', why: ignored} : {state: 'live'}
}

/**
 * A live assertion that a retraction names (or whose source one names) stands because the local
 * policy does not take that retraction's author's word: say so, or `show` lists a retraction
 * citing the record next to "state: live" with no word on why, and after a sync nobody can tell
 * an ignored retraction from one that never arrived.
 */
function unhonoured(a: Assertion, ctx: LensContext & PolicyView): string[] {
  const {policy} = ctx
  if (!policy) return []
  const at = citing(ctx)
  // In the order of ctx.retractions, as a filter over all of them would give.
  const hits = [...(at.byTarget.get(a.id) ?? []), ...(a.source === undefined ? [] : (at.bySource.get(a.source) ?? []))].sort((x, y) => x - y)
  const ignored = [...new Set(hits)].map((k) => at.retractions[k]).filter((r) => !honours(policy, r, a.agent))
  const lines = ignored.slice(0, 3).map((r) => {
    const what = r.target === undefined ? `its source "${field(r.source!)}"` : 'it'
    const score = policy.scores.get(r.agent)
    const standing = score ? `tier ${score.tier}, trust ${score.score.toFixed(3)}` : 'no trust here'
    return (
      `not retracted: ${r.id.slice(0, 12)} by agent ${r.agent.slice(0, 12)} retracts ${what}${r.reason ? ` ("${field(r.reason)}")` : ''}, but ` +
      `that agent is not trusted here (${standing}); retractions of others' records count from the store's own key, pre-trusted agents and tier trusted or above ` +
      `(\`steme trust ${r.agent} <weight>\` to change that)`
    )
  })
  if (ignored.length > 3) lines.push(`and ${ignored.length - 3} more retractions by agents not trusted here`)
  // Likewise a newer assertion that names it in `supersedes` but whose author may not replace it here.
  // Three at most, as for retractions: anyone may sign a supersession, so there may be thousands.
  const refused = (at.bySuperseded.get(a.id) ?? []).filter(
    (s) => !ctx.retracted.has(s.id) && compareRecords(a, s) < 0 && !maySupersede(policy, s, a) && (ctx.validAt === undefined || validAt(s, ctx.validAt)),
  )
  for (const s of refused.slice(0, 3)) {
    lines.push(
      `not superseded: ${s.id.slice(0, 12)} by agent ${s.agent.slice(0, 12)} supersedes it, but only an assertion's own author, the store's own key and ` +
        `pre-trusted agents may supersede it here (docs/lenses.md, Supersession)`,
    )
  }
  if (refused.length > 3) lines.push(`and ${refused.length - 3} more supersessions by agents that may not supersede it here`)
  return lines
}

/**
 * The context's retractions by the id and the source they name, and its superseders by the ids
 * they supersede, built once per context: a query states every candidate, and looking through
 * every retraction and superseder for each made a subject of 20,000 assertions that each name
 * a `supersedes` cost 400 million checks (10 times the CPU of the query without them).
 */
const citingIndex = new WeakMap<object, {retractions: readonly Retract[]; byTarget: Map<string, number[]>; bySource: Map<string, number[]>; bySuperseded: Map<string, Assertion[]>}>()

function citing(ctx: LensContext & PolicyView) {
  let at = citingIndex.get(ctx)
  if (at) return at
  const retractions = ctx.retractions ?? []
  const push = <K, V>(m: Map<K, V[]>, k: K, v: V) => {
    const list = m.get(k)
    if (list) list.push(v)
    else m.set(k, [v])
  }
  at = {retractions, byTarget: new Map(), bySource: new Map(), bySuperseded: new Map()}
  for (let k = 0; k < retractions.length; k++) {
    const r = retractions[k]
    if (r.target !== undefined) push(at.byTarget, r.target, k)
    if (r.source !== undefined) push(at.bySource, r.source, k)
  }
  for (const s of ctx.superseders ?? []) for (const id of new Set(s.supersedes ?? [])) push(at.bySuperseded, id, s)
  citingIndex.set(ctx, at)
  return at
}

/** Assertions whose set-aside retractions an explanation names one by one; `query --all` lists the rest. */
const SET_ASIDE_SHOWN = 5

/**
 * The explanation says which retractions (and supersessions) of the winner's and the other
 * candidates' assertions the local policy set aside, as `query --all` and `show` do: otherwise
 * --explain gives a winner that another agent retracted as if no retraction had arrived.
 */
function withSetAside(r: Resolution, states: ReadonlyMap<string, {state: CandidateState; why?: string[]}>): Resolution {
  const lines: string[] = []
  let more = 0
  for (const v of r.candidates) {
    const who = r.winner?.key === v.key ? 'the winner' : 'candidate'
    for (const id of v.ids) {
      const s = states.get(id)
      if (s?.state !== 'live' || !s.why?.length) continue
      if (lines.length >= SET_ASIDE_SHOWN) {
        more++
        continue
      }
      lines.push(`${who} ${showValue(v.key)}, assertion ${short(id)}, ${s.why.join('; ')}`)
    }
  }
  if (more) lines.push(`and ${more} more ${more === 1 ? 'assertion' : 'assertions'} with retractions or supersessions set aside here (\`query --all\` lists them)`)
  return lines.length ? {...r, explanation: [...r.explanation, ...lines]} : r
}

/** A lens taken from the store's config that fails says so: the user never typed it. */
function fromConfig<T>(configured: boolean, naming: Naming | undefined, f: () => T): T {
  try {
    return f()
  } catch (e) {
    if (!configured || !(e instanceof UserError)) throw e
    throw new UserError(`the default lens in the store's config.toml ([query] lens) is wrong: ${e.message}`, {code: 'config', hint: `fix [query] lens in .steme/config.toml, or pass ${inputName('lens', naming)}`, cause: e})
  }
}

export async function queryOp(deps: Pick<Deps, 'store' | 'config'> & Partial<Pick<Deps, 'key'>> & {self?: string}, input: QueryInput): Promise<QueryResult> {
  const text = input.lens ?? deps.config.lens
  const expr = fromConfig(input.lens === undefined, input.naming, () => compile(text, lensParams(deps.config.raw)))
  const asOf = input.asOf === undefined ? undefined : hlcBound(input.asOf, inputName('as-of', input.naming))
  const valid = input.validAt === undefined ? undefined : checkDate(input.validAt, inputName('valid-at', input.naming))
  const self = deps.self ?? selfOf(deps)
  const cands = await deps.store.assertions(input.subject, input.predicate, asOf)
  const ctx = await gatherContext(deps, cands, {asOf, validAt: valid, now: input.now ?? Date.now(), self})
  const states = new Map(cands.map((a) => [a.id, candidateState(a, ctx)]))
  const byPredicate = new Map<string, Assertion[]>()
  for (const a of cands) {
    let list = byPredicate.get(a.predicate)
    if (!list) byPredicate.set(a.predicate, (list = []))
    list.push(a)
  }
  const needsReliability = expr.chain.some((s) => s.lens === 'reliability')
  const resolutions: Resolution[] = []
  for (const p of [...byPredicate.keys()].sort()) {
    const learned = needsReliability ? await learnReliability(deps, p, asOf) : undefined
    const c = learned ? {...ctx, reliability: learned.table} : ctx
    resolutions.push(withSetAside(resolve(expr, byPredicate.get(p)!, c, {includeRetracted: input.includeRetracted}), states))
  }
  if (resolutions.length === 0 && input.predicate !== undefined) resolutions.push({...resolve(expr, [], ctx), subject: input.subject, predicate: input.predicate})
  const candidates = cands.map((a) => ({
    id: a.id,
    predicate: a.predicate,
    agent: a.agent,
    hlc: a.hlc,
    value: a.value,
    confidence: a.confidence,
    ...(a.source !== undefined ? {source: a.source} : {}),
    ...states.get(a.id)!,
  }))
  const notes = filterNotes(expr, ctx)
  return {subject: input.subject, lens: expr.text, asOf, validAt: valid, resolutions, candidates, ...(notes.length ? {notes} : {})}
}
