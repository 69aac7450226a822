/** Gather what lenses need for a set of candidates: retractions (with the cascade), supersession, votes, epochs, trust. Lenses never read the store. */
import {UserError} from '../core/errors.js'
import type {Assertion, Epoch, Retract, SignedRecord, Trust, Vote} from '../core/record.js'
import {compareRecords} from '../core/store.js'
import {cascade, findCycle} from '../lenses/cascade.js'
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

export type GatheredContext = LensContext & {policy: Policy; retractions: Retract[]}

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
 * Is a retraction honoured? The store's own key, pre-trusted agents and agents of tier
 * trusted or above always; any agent for its own records.
 */
export function honours(policy: Policy, r: Retract, targetAuthor?: string): boolean {
  if (r.agent === policy.self || policy.pretrusted.includes(r.agent)) return true
  if (targetAuthor !== undefined && targetAuthor === r.agent) return true
  const tier = policy.scores.get(r.agent)?.tier
  return tier === 'trusted' || tier === 'authority'
}

/**
 * Policies computed per store and change counter: trust scores and epochs are store-wide and
 * cost two reads and an EigenTrust pass, so a daemon answering many queries keeps them until
 * the store changes. Stores without a change counter recompute every time.
 */
type PolicyBundle = {policy: Policy; epochs: Epoch[]; sourceRetractions?: Retract[]}
const policies = new WeakMap<object, Map<string, {counter: number; value: Promise<PolicyBundle>}>>()

/** Trust scores and epochs in scope, minus trust and epoch records retracted by their author or the local policy's own agents. */
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

async function computePolicy(deps: Pick<Deps, 'store' | 'config'>, input: {asOf?: string; self?: string}): Promise<{policy: Policy; epochs: Epoch[]}> {
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
  const scores = trustScores(live.filter((r): r is Trust => r.kind === 'trust'), pretrusted)
  return {policy: {...base, scores}, epochs: live.filter((r): r is Epoch => r.kind === 'epoch')}
}

const earliest = (a: Retract | undefined, b: Retract) => (a === undefined || compareRecords(b, a) < 0 ? b : a)

/** Supersession among candidates: honoured when the newer assertion is live and by the same agent, or by the local policy's own agents. */
export function supersession(cands: readonly Assertion[], retracted: ReadonlyMap<string, RetractionWhy>, policy: Policy): Map<string, string> {
  const superseded = new Map<string, string>()
  const byId = new Map(cands.map((a) => [a.id, a]))
  for (const s of [...cands].sort(compareRecords)) {
    if (!s.supersedes || retracted.has(s.id)) continue
    for (const old of s.supersedes) {
      const o = byId.get(old)
      if (!o || compareRecords(o, s) >= 0) continue
      const authorised = o.agent === s.agent || s.agent === policy.self || policy.pretrusted.includes(s.agent) || policy.scores.get(s.agent)?.tier === 'authority'
      if (authorised && !superseded.has(old)) superseded.set(old, s.id)
    }
  }
  return superseded
}

export async function gatherContext(deps: Pick<Deps, 'store' | 'config'>, cands: readonly Assertion[], input: ContextInput): Promise<GatheredContext> {
  const inScope = (r: {hlc: string}) => input.asOf === undefined || r.hlc <= input.asOf
  const {policy, epochs, sourceRetractions} = await gatherPolicy(deps, input)
  // Everything the candidates stand on: their lineage through evidence.
  const ancestors = cands.some((a) => a.evidence?.length) ? await deps.store.lineage(cands.map((a) => a.id), input.asOf) : []
  const nodes = new Map<string, Assertion>()
  for (const a of [...cands, ...ancestors]) nodes.set(a.id, a)
  const cycle = findCycle(nodes.values())
  if (cycle) {
    throw new UserError(`evidence links form a cycle: ${cycle.map((id) => id.slice(0, 12)).join(' -> ')}`, {
      code: 'integrity',
      exit: 1,
      hint: 'records cannot cite each other in a loop; run `steme fsck` and remove the store that produced them',
    })
  }
  const sources = [...new Set([...nodes.values()].map((a) => a.source).filter((s): s is string => s !== undefined))]
  const wanted = new Set(sources)
  // Independent reads, issued together (stores may serve them on separate connections).
  const [referencing, bySource] = await Promise.all([
    deps.store.referencing([...nodes.keys()]),
    !sources.length
      ? Promise.resolve([] as Retract[])
      : sourceRetractions
        ? Promise.resolve(sourceRetractions.filter((r) => wanted.has(r.source!)))
        : deps.store.sourceRetractions(sources, input.asOf),
  ])
  const direct0 = referencing.filter(inScope)
  // Retractions of the votes on the candidates point one step further out.
  const voteIds = direct0.filter((r) => r.kind === 'vote').map((r) => r.id)
  const refs: SignedRecord[] = [...direct0, ...(voteIds.length ? (await deps.store.referencing(voteIds)).filter((r) => r.kind === 'retract' && inScope(r)) : [])]
  const retractions = [...refs.filter((r): r is Retract => r.kind === 'retract'), ...bySource].sort(compareRecords)
  // Direct retractions: the earliest honoured one is the reason given.
  const targetRetraction = new Map<string, Retract>()
  const sourceRetraction = new Map<string, Retract>()
  const recordAuthor = new Map<string, string>([...nodes.values()].map((a) => [a.id, a.agent]))
  for (const r of refs) if (r.kind === 'vote') recordAuthor.set(r.id, r.agent)
  for (const r of retractions) {
    if (r.target !== undefined) {
      if (honours(policy, r, recordAuthor.get(r.target))) targetRetraction.set(r.target, earliest(targetRetraction.get(r.target), r))
    } else if (r.source !== undefined && honours(policy, r)) sourceRetraction.set(r.source, earliest(sourceRetraction.get(r.source), r))
  }
  const direct = new Map<string, RetractionWhy>()
  for (const a of nodes.values()) {
    const t = targetRetraction.get(a.id)
    const s = a.source === undefined ? undefined : sourceRetraction.get(a.source)
    if (t) direct.set(a.id, {by: 'target', retraction: t.id, agent: t.agent, ...(t.reason ? {reason: t.reason} : {})})
    else if (s) direct.set(a.id, {by: 'source', retraction: s.id, agent: s.agent, source: s.source!, ...(s.reason ? {reason: s.reason} : {})})
  }
  const retracted = cascade(nodes.values(), direct)
  for (const [id] of targetRetraction) if (!nodes.has(id)) retracted.set(id, {by: 'target', retraction: targetRetraction.get(id)!.id, agent: targetRetraction.get(id)!.agent})
  const candIds = new Set(cands.map((a) => a.id))
  const votes = refs.filter((r): r is Vote => r.kind === 'vote' && candIds.has(r.target) && !retracted.has(r.id))
  const superseded = supersession(cands, retracted, policy)
  const trust = new Map([...policy.scores].map(([a, s]) => [a, s.score]))
  return {
    now: input.now,
    asOf: input.asOf,
    validAt: input.validAt,
    votes,
    retracted,
    superseded,
    epochs,
    trust,
    self: input.self,
    params: lensParams(deps.config.raw),
    policy,
    retractions,
  }
}
