/** Retract a record or a whole source, and report what the cascade touches. */
import {UserError} from '../core/errors.js'
import type {RetractBody} from '../core/record.js'
import {seal} from '../core/seal.js'
import {cascade} from '../lenses/cascade.js'
import type {RetractionWhy} from '../lenses/types.js'
import type {Deps} from './deps.js'
import {sealOrExplain} from './sealing.js'
import {existingTarget} from './vote.js'

export interface RetractInput {
  target?: string
  source?: string
  reason?: string
}

export interface RetractResult {
  id: string
  target?: string
  /** The kind of the retracted record, for a target retraction. */
  targetKind?: string
  source?: string
  /** Assertions retracted directly (the target, or every assertion citing the source). */
  direct: number
  /** Assertions derived from them that lose every justification. */
  derived: number
  /** Derived assertions that keep another, unretracted justification. */
  kept: number
}

/** What retracting these roots does to the evidence graph below them (this retraction alone). */
export async function cascadeEffect(deps: Pick<Deps, 'store'>, seed: {ids?: string[]; sources?: string[]}, retraction: string, agent: string) {
  const graph = await deps.store.cascadeGraph(seed)
  const why: RetractionWhy = {by: 'target', retraction, agent}
  const out = cascade(graph.nodes, new Map(graph.roots.map((id) => [id, why])))
  const derived = graph.nodes.filter((n) => out.has(n.id)).length
  return {direct: graph.roots.length, derived, kept: graph.nodes.length - derived}
}

export async function retractOp(deps: Deps, input: RetractInput): Promise<RetractResult> {
  if ((input.target === undefined) === (input.source === undefined)) {
    throw new UserError('retract needs exactly one of a record id or --source', {hint: 'steme retract <id> [--reason ...], or steme retract --source <source> [--reason ...]'})
  }
  const key = deps.key()
  const body: RetractBody = {v: 1, kind: 'retract', agent: key.publicHex, hlc: deps.clock.tick()}
  let targetKind: string | undefined
  if (input.target !== undefined) {
    const record = await existingTarget(deps, input.target, 'retract')
    if (record.kind === 'retract') throw new UserError(`record ${record.id} is itself a retraction; retractions are permanent`, {code: 'rejected', exit: 1})
    body.target = record.id
    targetKind = record.kind
  } else body.source = input.source
  if (input.reason !== undefined) body.reason = input.reason
  const sealed = sealOrExplain(() => seal(body, key), 'retract')
  await deps.store.insert([sealed])
  await deps.saveClock()
  const effect = await cascadeEffect(deps, body.target !== undefined ? {ids: [body.target]} : {sources: [body.source!]}, sealed.record.id, key.publicHex)
  return {id: sealed.record.id, ...(body.target ? {target: body.target, targetKind} : {source: body.source}), ...effect}
}
