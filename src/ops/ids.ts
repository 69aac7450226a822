/** Records named by people: a full id, or a unique prefix of one, in either case. */
import {UserError} from '../core/errors.js'
import {field} from '../core/text.js'
import type {Sealed} from '../core/seal.js'
import type {Deps} from './deps.js'

/** The shortest prefix taken for an id (`steme log` prints 12 characters). */
export const MIN_ID_PREFIX = 6

/** How many of an ambiguous prefix's matches are named in the error. */
const SHOWN = 5

/**
 * The stored record that `text` names: its 64 hex chars, or at least MIN_ID_PREFIX of the first
 * ones when only one stored id starts with them. Anything else is refused with what to type
 * instead (`what` says what the id is for: "show", "vote on", "retract").
 */
export async function findStored(deps: Pick<Deps, 'store'>, text: string, what: string): Promise<Sealed> {
  const given = text.trim().toLowerCase()
  if (!/^[0-9a-f]+$/.test(given) || given.length > 64 || given.length < MIN_ID_PREFIX) {
    throw new UserError(`"${field(text)}" is not a record id`, {hint: `${what} a record by its id: 64 hex chars, or the first ${MIN_ID_PREFIX} or more of them (as \`steme log\` prints them)`})
  }
  let id = given
  if (given.length < 64) {
    const ids = await deps.store.idsWithPrefix(given, SHOWN + 1)
    if (ids.length === 0) throw notFound(given, `no record id starts with ${given}`)
    if (ids.length > 1) {
      const shown = ids.slice(0, SHOWN).join(', ') + (ids.length > SHOWN ? ', ...' : '')
      throw new UserError(`${given} is the start of more than one record id: ${shown}`, {code: 'usage', hint: 'give more characters of the id'})
    }
    id = ids[0]
  }
  const [found] = await deps.store.get([id])
  if (!found) throw notFound(id, `no record ${id}`)
  return found
}

function notFound(id: string, message: string): UserError {
  return new UserError(`${message} in this store`, {code: 'not_found', exit: 1, hint: 'check the id with `steme log`, or pull from the peer that has it'})
}
