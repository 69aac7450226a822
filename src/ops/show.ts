/** One record: its content, whether its id and signature hold, what it cites and what cites it, and for an assertion whether it stands and why not. */
import type {SignedRecord} from '../core/record.js'
import {checkStored} from '../core/seal.js'
import type {Deps} from './deps.js'
import {findStored} from './ids.js'
import {gatherContext, selfOf} from './context.js'
import {candidateState, type CandidateState} from './query.js'

export interface ShowResult {
  record: SignedRecord
  /** "valid", or why the stored record fails its check. */
  signature: string
  cites: Array<{id: string; rel: string; found: boolean}>
  citedBy: Array<{id: string; kind: string; rel: string}>
  /** For assertions: live, retracted (with the chain up to the retractions), superseded. */
  state?: CandidateState
  why?: string[]
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
  return res
}
