/** Vote on an assertion: up, down, or withdraw an earlier vote. The latest vote per (agent, target) counts. */
import {UserError} from '../core/errors.js'
import {field} from '../core/text.js'
import type {Assertion, VoteBody} from '../core/record.js'
import {seal} from '../core/seal.js'
import {latestPerAgent, valueKey} from '../lenses/values.js'
import {gatherContext} from './context.js'
import type {Deps} from './deps.js'
import {findStored} from './ids.js'
import {sealOrExplain} from './sealing.js'

/** The words, and the record's own weights (DESIGN.md: 1, -1 or 0) as their synonyms. */
export const DIRECTIONS = {up: 1, down: -1, withdraw: 0, '1': 1, '-1': -1, '0': 0} as const
/** In the order help and errors list them (an object puts integer-like keys first). */
export const DIRECTION_WORDS = ['up', 'down', 'withdraw', '1', '-1', '0']
export type Direction = keyof typeof DIRECTIONS

export interface VoteResult {
  id: string
  target: string
  weight: 1 | -1 | 0
  /** Why the votes lens will not count it as things stand (for the signing key's queries); absent when it will. */
  warnings?: string[]
}

/** A stored record a vote or retraction may point at, by id or unique prefix; unknown ids are rejected (exit 1). */
export async function existingTarget(deps: Pick<Deps, 'store'>, id: string, what: string) {
  return (await findStored(deps, id, what)).record
}

/** `checkIdle`: say when the vote will count for nothing (default on); it reads votes, retractions and trust, which a daemon's store (--remote) does not answer. */
export async function voteOp(deps: Deps, input: {target: string; direction: string; checkIdle?: boolean}): Promise<VoteResult> {
  if (!(input.direction in DIRECTIONS)) throw new UserError(`unknown vote "${field(input.direction)}"`, {hint: 'vote up, down or withdraw (or 1, -1, 0)'})
  const record = await existingTarget(deps, input.target, 'vote on')
  if (record.kind !== 'assertion') throw new UserError(`record ${record.id} is a ${record.kind}; votes are on assertions`, {code: 'rejected', exit: 1})
  const key = deps.key()
  const body: VoteBody = {v: 1, kind: 'vote', agent: key.publicHex, hlc: deps.clock.tick(), target: record.id, weight: DIRECTIONS[input.direction as Direction]}
  const sealed = sealOrExplain(() => seal(body, key), 'vote')
  await deps.store.insert([sealed])
  await deps.saveClock()
  const warnings = body.weight === 0 || input.checkIdle === false ? [] : await idleVote(deps, record, key.publicHex)
  return {id: sealed.record.id, target: record.id, weight: body.weight, ...(warnings.length ? {warnings} : {})}
}

/**
 * Why a vote will count for nothing in the votes lens as the voter's queries see the store: its
 * target is retracted or superseded, or the voter's own latest word holds that value (it counts
 * there already). The vote is stored all the same: it counts if that changes.
 */
async function idleVote(deps: Pick<Deps, 'store' | 'config'>, target: Assertion, voter: string): Promise<string[]> {
  const short = target.id.slice(0, 12)
  const cands = await deps.store.assertions(target.subject, target.predicate)
  const ctx = await gatherContext(deps, cands, {now: Date.now(), self: voter})
  if (ctx.retracted.has(target.id)) return [`${short} is retracted (for this key's queries): the votes lens counts votes on live assertions only, so this one counts for nothing while it stays retracted`]
  const by = ctx.superseded.get(target.id)
  if (by) return [`${short} is superseded by ${by.slice(0, 12)}: the votes lens counts votes on live assertions only, so vote on ${by.slice(0, 12)} to back what replaced it`]
  const live = cands.filter((a) => !ctx.retracted.has(a.id) && !ctx.superseded.has(a.id))
  const mine = latestPerAgent(live).filter((a) => a.agent === voter)
  // As the votes lens counts: an agent whose latest words hold several values may vote between them.
  const values = new Set(mine.map(valueKey))
  if (values.size === 1 && values.has(valueKey(target))) return [`your own latest word on ${field(target.subject)} ${field(target.predicate)} holds this value: you count for it already, and the votes lens does not count your vote on it`]
  return []
}
