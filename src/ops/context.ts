/** Gather what lenses need for a set of candidates: retractions (with the cascade), supersession, votes, epochs, trust. Lenses never read the store. */
import {UserError} from '../core/errors.js'
import type {Assertion, Epoch, Retract, SignedAssertion, SignedRecord, Trust, Vote} from '../core/record.js'
import {compareRecords} from '../core/store.js'
import {cascade, findCycle} from '../lenses/cascade.js'
import {validAt} from '../lenses/filters.js'
import {rangeOf} from '../lenses/validity.js'
import {trustScores, type TrustScore} from '../lenses/trust-scores.js'
import type {LensContext, RetractionWhy} from '../lenses/types.js'
import type {Deps} from './deps.js'

export interface ContextInput {
  asOf?: string
  validAt?: string
  now: number
  self?: string
}

/** The local policy: whose word counts beyond an agent's own records. */
export interface Policy {
  self?: string
  pretrusted: string[]
  scores: Map<string, TrustScore>
}

/** `superseders`: every assertion (candidate or not) that names a candidate in `supersedes`, honoured or not, for explanations. */
export type GatheredContext = LensContext & {policy: Policy; retractions: Retract[]; superseders: Assertion[]}

/**
 * The store's own key, when one is available; read-only queries work without it. Remembered
 * per key loader: a daemon without a key otherwise searched the key directory (and built an
 * error) on every request.
 */
const selves = new WeakMap<object, string | undefined>()
export function selfOf(deps: Partial<Pick<Deps, 'key'>>): string | undefined {
  const load = deps.key
  if (!load) return undefined
  if (selves.has(load)) return selves.get(load)
  let self: string | undefined
  try {
    self = load().publicHex
  } catch {
    self = undefined
  }
  selves.set(load, self)
  return self
}

/** Lens parameters from the store config: the [lenses.<name>] tables. */
export function lensParams(raw: Record<string, unknown>): LensContext['params'] {
  const lenses = raw.lenses
  if (typeof lenses !== 'object' || lenses === null) return {}
  const out: Record<string, Record<string, unknown>> = {}
  for (const [k, v] of Object.entries(lenses)) if (typeof v === 'object' && v !== null && !Array.isArray(v)) out[k] = v as Record<string, unknown>
  return out
}

/**
 * Does the local policy take this agent's word beyond its own records? The store's own key,
 * pre-trusted agents and agents of tier trusted or above. Retractions of others' records and
 * epochs count only from them.
 */
export function trustedHere(policy: Policy, agent: string): boolean {
  if (agent === policy.self || policy.pretrusted.includes(agent)) return true
  const tier = policy.scores.get(agent)?.tier
  return tier === 'trusted' || tier === 'authority'
}

/** Is a retraction honoured for a record by `author`? Always for the author's own records; for others', when its agent is trusted here. */
export function honours(policy: Policy, r: Retract, author?: string): boolean {
  return (author !== undefined && author === r.agent) || trustedHere(policy, r.agent)
}

/**
 * The retraction that retracts a record by `author`: the first of `rs` (in (hlc, id) order)
 * honoured for it. A retraction by source is honoured per record, like one by target: an
 * untrusted agent's retraction of a source retracts its own assertions citing it, no one else's.
 */
export function firstHonoured(rs: readonly Retract[] | undefined, policy: Policy, author: string | undefined): Retract | undefined {
  return rs?.find((r) => honours(policy, r, author))
}

/**
 * Policies computed per store and change counter: trust scores and epochs are store-wide and
 * cost two reads and an EigenTrust pass, so a daemon answering many queries keeps them until
 * the store changes. Stores without a change counter recompute every time.
 */
type PolicyBundle = PolicyCore & {sourceRetractions?: Retract[]}
/** Epochs honoured here, and the ones set aside because their author is not trusted here (for explanations). */
type PolicyCore = {policy: Policy; epochs: Epoch[]; ignoredEpochs: Epoch[]}
const policies = new WeakMap<object, Map<string, {counter: number; value: Promise<PolicyBundle>}>>()

/**
 * Trust scores and epochs in scope, minus trust and epoch records retracted by their author or
 * the local policy's own agents. Epochs count only from agents trusted here: one agent's epoch,
 * arriving by sync, must not move "current" for everyone.
 */
export async function gatherPolicy(deps: Pick<Deps, 'store' | 'config'>, input: {asOf?: string; self?: string}): Promise<PolicyBundle> {
  const counter = deps.store.changeCounter?.()
  if (counter === undefined) return computePolicy(deps, input)
  // Cached, so worth one more read: every retraction by source, filtered per query in memory.
  const withSources = async () => {
    const [p, all] = await Promise.all([computePolicy(deps, input), deps.store.ofKinds(['retract'], input.asOf)])
    return {...p, sourceRetractions: all.filter((r): r is Retract => r.kind === 'retract' && r.source !== undefined)}
  }
  let memo = policies.get(deps.store)
  if (!memo) policies.set(deps.store, (memo = new Map()))
  const key = JSON.stringify([input.asOf ?? '', input.self ?? '', deps.config.pretrusted])
  const hit = memo.get(key)
  if (hit && hit.counter === counter) return hit.value
  const value = withSources()
  if (memo.size > 64) memo.clear()
  memo.set(key, {counter, value})
  value.catch(() => memo!.delete(key))
  return value
}

async function computePolicy(deps: Pick<Deps, 'store' | 'config'>, input: {asOf?: string; self?: string}): Promise<PolicyCore> {
  const small = await deps.store.ofKinds(['trust', 'epoch'], input.asOf)
  const pretrusted = [...new Set([...(input.self ? [input.self] : []), ...deps.config.pretrusted])]
  const refs = small.length ? await deps.store.referencing(small.map((r) => r.id)) : []
  const base: Policy = {self: input.self, pretrusted, scores: new Map()}
  const byId = new Map(small.map((r) => [r.id, r]))
  const dropped = new Set(
    refs
      .filter((r): r is Retract => r.kind === 'retract' && (input.asOf === undefined || r.hlc <= input.asOf))
      .filter((r) => r.target !== undefined && honours(base, r, byId.get(r.target)?.agent))
      .map((r) => r.target!),
  )
  const live = small.filter((r) => !dropped.has(r.id))
  const policy = {...base, scores: trustScores(live.filter((r): r is Trust => r.kind === 'trust'), pretrusted)}
  const epochs = live.filter((r): r is Epoch => r.kind === 'epoch')
  return {policy, epochs: epochs.filter((e) => trustedHere(policy, e.agent)), ignoredEpochs: epochs.filter((e) => !trustedHere(policy, e.agent))}
}

/** Records grouped by a key, each group in the order given. */
function groupBy<T>(items: readonly T[], key: (x: T) => string | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>()
  for (const x of items) {
    const k = key(x)
    if (k === undefined) continue
    const list = out.get(k)
    if (list) list.push(x)
    else out.set(k, [x])
  }
  return out
}

/** May `s` supersede `old` here? Its own author may, and the local policy's own agents (the store's key, pre-trusted ones). */
export function maySupersede(policy: Policy, s: Assertion, old: Assertion): boolean {
  return old.agent === s.agent || s.agent === policy.self || policy.pretrusted.includes(s.agent) || policy.scores.get(s.agent)?.tier === 'authority'
}

/**
 * Supersession of candidates: honoured when the newer assertion is live and by the same agent, or
 * by the local policy's own agents. The superseding assertion may be about another subject or
 * predicate (DESIGN.md: `supersedes` names assertions, not pairs): `others` are the superseding
 * assertions that are not candidates themselves. With a --valid-at date, an assertion whose
 * `valid` range does not cover it did not hold then, so it replaced nothing then either.
 */
export function supersession(
  cands: readonly Assertion[],
  retracted: ReadonlyMap<string, RetractionWhy>,
  policy: Policy,
  others: readonly Assertion[] = [],
  validDate?: string,
): Map<string, string> {
  return supersessionOverTime(cands, retracted, policy, others, validDate).superseded
}

/** Does an assertion hold at every date `--valid-at` can name (no range, or one whose ends bound nothing)? */
const holdsAlways = (a: Assertion): boolean => {
  if (a.valid === undefined) return true
  const [from, to] = rangeOf(a)
  return from === -Infinity && to === Infinity
}

/**
 * Supersession, and without a date what `--valid-at` would make of it: `supersededWhile` holds
 * the superseded ids whose every honoured superseder carries a `valid` range, with those
 * superseders. At a date such an id is superseded only if one of them holds then, so the conflict
 * score without a date (the highest any date gives) scores a date before they held with it.
 * Absent when there is none (most pairs supersede nothing, or by assertions without a range).
 */
export function supersessionOverTime(
  cands: readonly Assertion[],
  retracted: ReadonlyMap<string, RetractionWhy>,
  policy: Policy,
  others: readonly Assertion[] = [],
  validDate?: string,
): {superseded: Map<string, string>; supersededWhile?: Map<string, Assertion[]>} {
  const superseded = new Map<string, string>()
  // Only assertions that supersede something act here: most pairs have none, and then no map of ids is built.
  const superseders = [...cands, ...others].filter((s): s is Assertion & {supersedes: string[]} => s.supersedes !== undefined)
  if (superseders.length === 0) return {superseded}
  const byId = new Map(cands.map((a) => [a.id, a]))
  // Without a date: per superseded id, its honoured superseders, undefined once one holds always.
  const ranged = validDate === undefined ? new Map<string, Assertion[] | undefined>() : undefined
  for (const s of superseders.sort(compareRecords)) {
    if (retracted.has(s.id)) continue
    if (validDate !== undefined && !validAt(s, validDate)) continue
    for (const old of s.supersedes) {
      const o = byId.get(old)
      if (!o || compareRecords(o, s) >= 0 || !maySupersede(policy, s, o)) continue
      if (!superseded.has(old)) superseded.set(old, s.id)
      if (ranged) {
        const list = ranged.has(old) ? ranged.get(old) : []
        const always = holdsAlways(s)
        if (list && !always) list.push(s)
        ranged.set(old, always ? undefined : list)
      }
    }
  }
  const supersededWhile = new Map<string, Assertion[]>()
  for (const [id, list] of ranged ?? []) if (list) supersededWhile.set(id, list)
  return supersededWhile.size ? {superseded, supersededWhile} : {superseded}
}

export async function gatherContext(deps: Pick<Deps, 'store' | 'config'>, cands: readonly Assertion[], input: ContextInput): Promise<GatheredContext> {
  const inScope = (r: {hlc: string}) => input.asOf === undefined || r.hlc <= input.asOf
  const {policy, epochs, ignoredEpochs, sourceRetractions} = await gatherPolicy(deps, input)
  const bySources = (sources: string[]): Promise<Retract[]> => {
    if (!sources.length) return Promise.resolve([])
    const wanted = new Set(sources)
    return sourceRetractions ? Promise.resolve(sourceRetractions.filter((r) => wanted.has(r.source!))) : deps.store.sourceRetractions(sources, input.asOf)
  }
  const sourcesOf = (as: Iterable<Assertion>) => [...new Set([...as].map((a) => a.source).filter((s): s is string => s !== undefined))]
  // Everything the candidates stand on: their lineage through evidence.
  const ancestors = cands.some((a) => a.evidence?.length) ? await deps.store.lineage(cands.map((a) => a.id), input.asOf) : []
  const nodes = new Map<string, Assertion>()
  for (const a of [...cands, ...ancestors]) nodes.set(a.id, a)
  const asked = new Set(sourcesOf(nodes.values()))
  // Independent reads, issued together (stores may serve them on separate connections).
  const [referencing, bySource0] = await Promise.all([deps.store.referencing([...nodes.keys()]), bySources([...asked])])
  const direct0 = referencing.filter(inScope)
  // Superseding assertions about other pairs came with the same read; whether they are retracted
  // needs their own retractions and lineage, read only when there are any. One that a candidate
  // stands on is a superseder too (its retraction state is already being worked out).
  const candIds = new Set(cands.map((a) => a.id))
  const superseders = direct0.filter((r): r is SignedAssertion => r.kind === 'assertion' && !candIds.has(r.id) && !!r.supersedes?.some((id) => candIds.has(id)))
  const further = superseders.some((a) => a.evidence?.length) ? await deps.store.lineage(superseders.map((a) => a.id), input.asOf) : []
  const added = [...superseders, ...further].filter((a) => !nodes.has(a.id))
  for (const a of added) nodes.set(a.id, a)
  const cycle = findCycle(nodes.values())
  if (cycle) {
    throw new UserError(`evidence links form a cycle: ${cycle.map((id) => id.slice(0, 12)).join(' -> ')}`, {
      code: 'integrity',
      exit: 1,
      hint: 'records cannot cite each other in a loop; run `steme fsck` and remove the store that produced them',
    })
  }
  // Retractions of the votes on the candidates (and of the superseders) point one step further out.
  const voteIds = direct0.filter((r) => r.kind === 'vote').map((r) => r.id)
  const outer = [...voteIds, ...added.map((a) => a.id)]
  const [outerRefs, bySource1] = await Promise.all([
    outer.length ? deps.store.referencing(outer) : Promise.resolve([]),
    bySources(sourcesOf(added).filter((s) => !asked.has(s))),
  ])
  const refs: SignedRecord[] = [...direct0, ...outerRefs.filter((r) => r.kind === 'retract' && inScope(r))]
  const unique = new Map([...refs.filter((r): r is Retract => r.kind === 'retract'), ...bySource0, ...bySource1].map((r) => [r.id, r]))
  const retractions = [...unique.values()].sort(compareRecords)
  // Direct retractions, honoured per record (own records, or a trusted agent's): the earliest is the reason given.
  const byTarget = groupBy(retractions, (r) => r.target)
  const bySource = groupBy(retractions, (r) => r.source)
  const recordAuthor = new Map<string, string>([...nodes.values()].map((a) => [a.id, a.agent]))
  for (const r of refs) if (r.kind === 'vote') recordAuthor.set(r.id, r.agent)
  const direct = new Map<string, RetractionWhy>()
  for (const a of nodes.values()) {
    const t = firstHonoured(byTarget.get(a.id), policy, a.agent)
    const s = a.source === undefined ? undefined : firstHonoured(bySource.get(a.source), policy, a.agent)
    if (t) direct.set(a.id, {by: 'target', retraction: t.id, agent: t.agent, ...(t.reason ? {reason: t.reason} : {})})
    else if (s) direct.set(a.id, {by: 'source', retraction: s.id, agent: s.agent, source: s.source!, ...(s.reason ? {reason: s.reason} : {})})
  }
  const retracted = cascade(nodes.values(), direct)
  for (const [id, rs] of byTarget) {
    const t = nodes.has(id) ? undefined : firstHonoured(rs, policy, recordAuthor.get(id))
    if (t) retracted.set(id, {by: 'target', retraction: t.id, agent: t.agent})
  }
  const votes = refs.filter((r): r is Vote => r.kind === 'vote' && candIds.has(r.target) && !retracted.has(r.id))
  const {superseded, supersededWhile} = supersessionOverTime(cands, retracted, policy, superseders, input.validAt)
  const trust = new Map([...policy.scores].map(([a, s]) => [a, s.score]))
  return {
    now: input.now,
    asOf: input.asOf,
    validAt: input.validAt,
    votes,
    retracted,
    superseded,
    ...(supersededWhile ? {supersededWhile} : {}),
    epochs,
    ...(ignoredEpochs.length ? {ignoredEpochs} : {}),
    trust,
    self: input.self,
    params: lensParams(deps.config.raw),
    policy,
    retractions,
    superseders: [...cands.filter((a) => a.supersedes !== undefined), ...superseders],
  }
}
