/** One record: its content, whether its id and signature hold, what it cites and what cites it, and for an assertion whether it stands and why not. */
import type {Retract, SignedRecord} from '../core/record.js'
import {checkStored} from '../core/seal.js'
import {field} from '../core/text.js'
import type {Deps} from './deps.js'
import {findStored} from './ids.js'
import {gatherContext, gatherPolicy, selfOf, trustedHere, type Policy} from './context.js'
import {candidateState, type CandidateState} from './query.js'

/** Whether this store's policy takes a retraction's word: yes, no, or for its author's own records only (a retraction of a source by an agent not trusted here). */
export type TakesEffect = 'yes' | 'no' | 'own records only'

export interface ShowResult {
  record: SignedRecord
  /** "valid", or why the stored record fails its check. */
  signature: string
  cites: Array<{id: string; rel: string; found: boolean}>
  citedBy: Array<{id: string; kind: string; rel: string}>
  /** For assertions: live, retracted (with the chain up to the retractions), superseded. */
  state?: CandidateState
  why?: string[]
  /** For a retraction: whether it takes effect in this store's queries, and why. */
  effect?: {here: TakesEffect; why: string}
}

export async function showOp(deps: Pick<Deps, 'store' | 'config'> & Partial<Pick<Deps, 'key'>>, input: {id: string; now?: number}): Promise<ShowResult> {
  const found = await findStored(deps, input.id, 'show')
  const r = found.record
  const bad = checkStored(r.id, found.canonical, r.agent, r.sig)
  // A trust record's target is an agent key, not a record: it cites nothing.
  const outgoing: Array<{id: string; rel: string}> = []
  if (r.kind === 'assertion') {
    for (const e of r.evidence ?? []) outgoing.push({id: e, rel: 'evidence'})
    for (const e of r.supersedes ?? []) outgoing.push({id: e, rel: 'supersedes'})
  } else if ((r.kind === 'vote' || r.kind === 'retract') && r.target) outgoing.push({id: r.target, rel: r.kind})
  const present = await deps.store.has(outgoing.map((o) => o.id))
  const refs = await deps.store.referencing([r.id])
  const citedBy = refs.map((x) => ({
    id: x.id,
    kind: x.kind,
    rel: x.kind === 'assertion' ? (x.evidence?.includes(r.id) ? 'evidence' : 'supersedes') : x.kind,
  }))
  const res: ShowResult = {record: r, signature: bad ?? 'valid', cites: outgoing.map((o) => ({...o, found: present.has(o.id)})), citedBy}
  if (r.kind === 'assertion') {
    const cands = await deps.store.assertions(r.subject, r.predicate)
    const ctx = await gatherContext(deps, cands, {now: input.now ?? Date.now(), self: selfOf(deps)})
    Object.assign(res, candidateState(r, ctx))
  }
  if (r.kind === 'retract') {
    const self = selfOf(deps)
    const {policy} = await gatherPolicy(deps, {self})
    const author = r.target === undefined ? undefined : (await deps.store.get([r.target]))[0]?.record.agent
    res.effect = retractionEffect(r, policy, author, r.target !== undefined && !present.has(r.target))
  }
  return res
}

/**
 * Whether this store honours a retraction, in the words `query --all` and `show` use for one they
 * set aside: a retraction by an agent not trusted here is stored and synced, but counts only for
 * its author's own records, so `show` of the retraction says so rather than leave the reader to
 * find the record it names and look there.
 */
export function retractionEffect(r: Retract, policy: Policy, author: string | undefined, missing: boolean): {here: TakesEffect; why: string} {
  const score = policy.scores.get(r.agent)
  const rule = "retractions of others' records count from the store's own key, pre-trusted agents and tier trusted or above"
  if (trustedHere(policy, r.agent)) {
    const who =
      r.agent === policy.self
        ? "its author is the store's own key"
        : policy.pretrusted.includes(r.agent)
          ? 'its author is pre-trusted in the store config'
          : `its author is trusted here (tier ${score!.tier}, trust ${score!.score.toFixed(3)})`
    const what = r.target === undefined ? `every assertion citing source "${field(r.source!)}" is retracted here, and what stands on them` : 'the record it names is retracted here, and what stands on it'
    return {here: 'yes', why: `${who}: ${what}${missing ? ' (once that record arrives: it is not in this store)' : ''}`}
  }
  const standing = score ? `tier ${score.tier}, trust ${score.score.toFixed(3)}` : 'no trust here'
  const change = `(\`steme trust ${r.agent} <weight>\` to change that)`
  if (r.target === undefined) {
    return {
      here: 'own records only',
      why: `it retracts its author's own assertions citing source "${field(r.source!)}" and no one else's: its author ${r.agent.slice(0, 12)} is not trusted here (${standing}); ${rule} ${change}`,
    }
  }
  if (author === r.agent) return {here: 'yes', why: "it retracts its author's own record, which counts from any agent"}
  if (author === undefined) {
    return {
      here: 'no',
      why: `the record it names is not in this store, and it will count only if that record is its author's own: its author ${r.agent.slice(0, 12)} is not trusted here (${standing}); ${rule} ${change}`,
    }
  }
  return {
    here: 'no',
    why: `set aside: its author ${r.agent.slice(0, 12)} is not trusted here (${standing}), and the record it names is agent ${author.slice(0, 12)}'s; ${rule} ${change}`,
  }
}
