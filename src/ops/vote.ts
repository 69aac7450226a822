/** Vote on an assertion: up, down, or withdraw an earlier vote. The latest vote per (agent, target) counts. */
import {UserError} from '../core/errors.js'
import {field} from '../core/text.js'
import type {VoteBody} from '../core/record.js'
import {seal} from '../core/seal.js'
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
}

/** A stored record a vote or retraction may point at, by id or unique prefix; unknown ids are rejected (exit 1). */
export async function existingTarget(deps: Pick<Deps, 'store'>, id: string, what: string) {
  return (await findStored(deps, id, what)).record
}

export async function voteOp(deps: Deps, input: {target: string; direction: string}): Promise<VoteResult> {
  if (!(input.direction in DIRECTIONS)) throw new UserError(`unknown vote "${field(input.direction)}"`, {hint: 'vote up, down or withdraw (or 1, -1, 0)'})
  const record = await existingTarget(deps, input.target, 'vote on')
  if (record.kind !== 'assertion') throw new UserError(`record ${record.id} is a ${record.kind}; votes are on assertions`, {code: 'rejected', exit: 1})
  const key = deps.key()
  const body: VoteBody = {v: 1, kind: 'vote', agent: key.publicHex, hlc: deps.clock.tick(), target: record.id, weight: DIRECTIONS[input.direction as Direction]}
  const sealed = sealOrExplain(() => seal(body, key), 'vote')
  await deps.store.insert([sealed])
  await deps.saveClock()
  return {id: sealed.record.id, target: record.id, weight: body.weight}
}
