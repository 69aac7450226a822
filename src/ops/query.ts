/** Resolve a subject (and predicate) through a lens: gather candidates and context, hand them to the lens. */
import {hlcBound} from '../core/hlc.js'
import type {Assertion} from '../core/record.js'
import {lensByName} from '../lenses/registry.js'
import type {Resolution} from '../lenses/types.js'
import type {Deps} from './deps.js'
import {gatherContext} from './context.js'

export interface QueryInput {
  subject: string
  predicate?: string
  lens?: string
  asOf?: string
  validAt?: string
  now?: number
}

export interface QueryResult {
  subject: string
  lens: string
  asOf?: string
  resolutions: Resolution[]
  /** Every candidate assertion, per predicate, for --all. */
  candidates: Assertion[]
}

export async function queryOp(deps: Pick<Deps, 'store' | 'config'> & {self?: string}, input: QueryInput): Promise<QueryResult> {
  const lensName = input.lens ?? deps.config.lens
  const lens = lensByName(lensName)
  const asOf = input.asOf === undefined ? undefined : hlcBound(input.asOf)
  const cands = await deps.store.assertions(input.subject, input.predicate, asOf)
  const ctx = await gatherContext(deps, cands, {asOf, validAt: input.validAt, now: input.now ?? Date.now(), self: deps.self})
  const byPredicate = new Map<string, Assertion[]>()
  for (const a of cands) {
    let list = byPredicate.get(a.predicate)
    if (!list) byPredicate.set(a.predicate, (list = []))
    list.push(a)
  }
  const resolutions = [...byPredicate.keys()].sort().map((p) => lens(byPredicate.get(p)!, ctx))
  if (resolutions.length === 0 && input.predicate !== undefined) resolutions.push({...lens([], ctx), subject: input.subject, predicate: input.predicate})
  return {subject: input.subject, lens: lensName, asOf, resolutions, candidates: cands}
}
