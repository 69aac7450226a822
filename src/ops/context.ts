/** Gather what lenses need for a set of candidates: votes, retractions, epochs, trust. Lenses never read the store. */
import type {Assertion, Retract, Vote} from '../core/record.js'
import type {LensContext} from '../lenses/types.js'
import type {Deps} from './deps.js'

export interface ContextInput {
  asOf?: string
  validAt?: string
  now: number
  self?: string
}

export async function gatherContext(deps: Pick<Deps, 'store' | 'config'>, cands: readonly Assertion[], input: ContextInput): Promise<LensContext> {
  const refs = await deps.store.referencing(cands.map((a) => a.id))
  const inScope = (r: {hlc: string}) => input.asOf === undefined || r.hlc <= input.asOf
  const votes = refs.filter((r): r is Vote => r.kind === 'vote' && inScope(r))
  const retractions = refs.filter((r): r is Retract => r.kind === 'retract' && inScope(r))
  const retracted = new Map<string, string>()
  for (const r of retractions) if (r.target) retracted.set(r.target, `retracted by ${r.agent.slice(0, 12)} (${r.id.slice(0, 12)})${r.reason ? ': ' + r.reason : ''}`)
  return {now: input.now, asOf: input.asOf, validAt: input.validAt, votes, retractions, retracted, epochs: [], trust: new Map(), self: input.self, params: {}}
}
