/** Retract a record or a whole source, and report what the cascade touches. */
import {UserError} from '../core/errors.js'
import {field} from '../core/text.js'
import type {Retract, RetractBody, SignedAssertion} from '../core/record.js'
import type {CascadeGraph} from '../core/store.js'
import {seal} from '../core/seal.js'
import {cascade} from '../lenses/cascade.js'
import type {RetractionWhy} from '../lenses/types.js'
import {gatherContext, gatherPolicy, honours, trustedHere} from './context.js'
import type {Deps} from './deps.js'
import {sealOrExplain} from './sealing.js'
import {existingTarget} from './vote.js'

export interface RetractInput {
  target?: string
  source?: string
  reason?: string
  /** The agent whose queries the report speaks for (your default key, when signing with another); the signer when absent. */
  viewer?: string
  /**
   * Read the store for the report (default on): the earlier same retraction, the cascade and whose
   * queries honour it. A daemon's store (--remote) answers none of these: off, the retraction is
   * signed and stored, and the fields below that need them are absent.
   */
  storeWide?: boolean
}

export interface RetractResult {
  id: string
  /** The retracting agent (the signing key). */
  agent: string
  target?: string
  /** The kind of the retracted record, for a target retraction. */
  targetKind?: string
  source?: string
  /** Assertions retracted directly (the target, or every assertion citing the source). Absent through a daemon (storeWide off), as are derived and kept. */
  direct?: number
  /** Assertions derived from them that lose every justification. */
  derived?: number
  /** Derived assertions that keep another, unretracted justification. */
  kept?: number
  /**
   * When not `trusted`: of what it retracts directly, the records by other agents, which the
   * viewer's queries keep live (the signer's own queries honour it for them).
   */
  others?: number
  /**
   * The viewer's queries (see RetractInput) honour it for others' records: the signer is the viewer,
   * pre-trusted, or tier trusted or above. Through a daemon only the first is known: absent when
   * the signer is another key than the viewer.
   */
  trusted?: boolean
  viewer: string
  /** Set when this agent had already made the same retraction: nothing new was written, and `id` is the earlier one. Never set through a daemon. */
  duplicate?: true
}

/**
 * Records the graph's truth maintenance needs beyond the walk: which of the roots and of the
 * evidence outside the graph stand retracted without this retraction (`before`) and with it
 * (`after`), for the signer's queries.
 */
export type PriorRetractions = (graph: CascadeGraph, retraction: string) => Promise<{before: Map<string, RetractionWhy>; after: Map<string, RetractionWhy>}>

/**
 * What the retraction does to the evidence graph below what it retracts: the store walk and the
 * truth maintenance, and the records it retracts directly (the roots). Alone, it counts as if no
 * other retraction existed; with `prior`, a derived assertion whose other evidence is already
 * retracted is counted as falling now (not as kept), and one that had already fallen not at all.
 */
export async function cascadeEffect(deps: Pick<Deps, 'store'>, seed: {ids?: string[]; sources?: string[]}, retraction: string, agent: string, prior?: PriorRetractions): Promise<{direct: number; derived: number; kept: number; roots: string[]}> {
  const graph = await deps.store.cascadeGraph(seed)
  const why: RetractionWhy = {by: 'target', retraction, agent}
  const known = prior ? await prior(graph, retraction) : {before: new Map<string, RetractionWhy>(), after: new Map<string, RetractionWhy>()}
  const before = cascade(graph.nodes, known.before)
  const after = cascade(graph.nodes, new Map([...known.after, ...graph.roots.map((id) => [id, why] as const)]))
  const derived = graph.nodes.filter((n) => after.has(n.id) && !before.has(n.id)).length
  return {direct: graph.roots.length, derived, kept: graph.nodes.filter((n) => !after.has(n.id)).length, roots: graph.roots}
}

/**
 * PriorRetractions from the store, as the signer's queries see it (gatherContext over the roots
 * and the evidence outside the graph: their retractions, sources, lineage and the trust policy).
 * `before` leaves out this retraction: an id it retracts counts there only if another honoured
 * retraction, or its own evidence, retracts it too.
 */
function priorFromStore(deps: Pick<Deps, 'store' | 'config'>, self: string): PriorRetractions {
  return async (graph, retraction) => {
    const inGraph = new Set([...graph.roots, ...graph.nodes.map((n) => n.id)])
    const outside = [...new Set(graph.nodes.flatMap((n) => n.evidence ?? []))].filter((id) => !inGraph.has(id))
    const ids = [...graph.roots, ...outside]
    const before = new Map<string, RetractionWhy>()
    const after = new Map<string, RetractionWhy>()
    // Nothing derived, nothing to count: a retraction of a leaf reads no more than before.
    if (!graph.nodes.length) return {before, after}
    const records = (await deps.store.get(ids)).map((s) => s.record).filter((r): r is SignedAssertion => r.kind === 'assertion')
    const ctx = await gatherContext(deps, records, {now: Date.now(), self})
    const byId = new Map(records.map((a) => [a.id, a]))
    for (const id of ids) {
      const why = ctx.retracted.get(id)
      if (!why) continue
      after.set(id, why)
      const a = byId.get(id)
      const other = why.by === 'evidence' || why.retraction !== retraction || ctx.retractions.some((r) => r.id !== retraction && (r.target === id || (r.source !== undefined && r.source === a?.source)) && honours(ctx.policy, r, a?.agent))
      if (other) before.set(id, why)
    }
    return {before, after}
  }
}

/** The same agent's earlier retraction of the same target or source: another would change nothing anywhere. */
async function sameRetraction(deps: Pick<Deps, 'store'>, body: RetractBody): Promise<Retract | undefined> {
  const earlier = body.target !== undefined ? await deps.store.referencing([body.target]) : await deps.store.sourceRetractions([body.source!])
  return earlier.find((r): r is Retract => r.kind === 'retract' && r.agent === body.agent && r.target === body.target && r.source === body.source)
}

/**
 * How far the retraction reaches beyond the signer's own records: any key's queries honour it
 * for the signer's own, the signer's queries for everyone's (the signing key is the policy's
 * own), another key's queries for others' records only where it trusts the signer.
 */
async function reach(deps: Pick<Deps, 'store' | 'config'>, agent: string, viewer: string, roots: string[], targetAuthor?: string): Promise<{others?: number; trusted: boolean}> {
  const {policy} = await gatherPolicy(deps, {self: viewer})
  if (trustedHere(policy, agent)) return {trusted: true}
  if (targetAuthor !== undefined) return {others: targetAuthor === agent ? 0 : 1, trusted: false}
  const authors = roots.length ? (await deps.store.get(roots)).map((s) => s.record.agent) : []
  return {others: authors.filter((a) => a !== agent).length, trusted: false}
}

export async function retractOp(deps: Deps, input: RetractInput): Promise<RetractResult> {
  if ((input.target === undefined) === (input.source === undefined)) {
    throw new UserError('retract needs exactly one of a record id or --source', {hint: 'steme retract <id> [--reason ...], or steme retract --source <source> [--reason ...]'})
  }
  const key = deps.key()
  const body: RetractBody = {v: 1, kind: 'retract', agent: key.publicHex, hlc: ''}
  let targetKind: string | undefined
  let targetAuthor: string | undefined
  if (input.target !== undefined) {
    const record = await existingTarget(deps, input.target, 'retract')
    if (record.kind === 'retract') {
      // The way back is a new assertion; by source, one citing another source, or it falls again.
      const back =
        record.source === undefined
          ? 'to bring back what it retracted, assert the value again (`steme assert`): the new record is not the one retracted'
          : `it also retracts later assertions citing "${field(record.source)}": to bring a value back, assert it again citing another source`
      throw new UserError(`record ${record.id} is itself a retraction; retractions are permanent`, {code: 'rejected', exit: 1, hint: `nothing undoes a retraction; ${back}`})
    }
    body.target = record.id
    targetKind = record.kind
    targetAuthor = record.agent
  } else body.source = input.source
  const storeWide = input.storeWide !== false
  const earlier = storeWide ? await sameRetraction(deps, body) : undefined
  let id: string
  if (earlier) id = earlier.id
  else {
    body.hlc = deps.clock.tick()
    if (input.reason !== undefined) body.reason = input.reason
    const sealed = sealOrExplain(() => seal(body, key), 'retract')
    await deps.store.insert([sealed])
    await deps.saveClock()
    id = sealed.record.id
  }
  const viewer = input.viewer ?? key.publicHex
  if (!storeWide) {
    const target = body.target ? {target: body.target, targetKind} : {source: body.source}
    return {id, agent: key.publicHex, ...target, viewer, ...(viewer === key.publicHex ? {trusted: true} : {})}
  }
  const {roots, ...effect} = await cascadeEffect(deps, body.target !== undefined ? {ids: [body.target]} : {sources: [body.source!]}, id, key.publicHex, priorFromStore(deps, key.publicHex))
  return {
    id,
    agent: key.publicHex,
    ...(body.target ? {target: body.target, targetKind} : {source: body.source}),
    ...effect,
    viewer,
    ...(await reach(deps, key.publicHex, viewer, roots, targetAuthor)),
    ...(earlier ? {duplicate: true as const} : {}),
  }
}
