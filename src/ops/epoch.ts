/** Declare a named epoch: an era, starting at a date, that epoch-aware lenses use. */
import type {EpochBody} from '../core/record.js'
import {compareRecords} from '../core/store.js'
import {seal} from '../core/seal.js'
import {gatherPolicy, trustedHere} from './context.js'
import type {Deps} from './deps.js'
import {sealOrExplain} from './sealing.js'

export interface EpochResult {
  id: string
  name: string
  starts: string
  agent: string
  /**
   * The viewer's queries count it (see below): the signer is the viewer, pre-trusted, or tier
   * trusted or above. Through a daemon (storeWide off) only the first is known: absent when the
   * signer is another key than the viewer.
   */
  trusted?: boolean
  viewer: string
  /** The declaration of this name that defined it before in the viewer's queries (the latest honoured, by hlc, id), when there was one: this one now does. Never set through a daemon. */
  redefines?: {id: string; starts: string; agent: string}
}

/**
 * `viewer`: the agent whose queries the report speaks for (your default key, when signing with
 * another); the signer when absent. `storeWide`: read the store's epochs and trust for the report
 * (default on); a daemon's store (--remote) answers neither, so off, the epoch is signed and
 * stored, and `redefines` and (for another viewer) `trusted` are absent.
 */
export async function epochOp(deps: Deps, input: {name: string; starts: string; note?: string; viewer?: string; storeWide?: boolean}): Promise<EpochResult> {
  const key = deps.key()
  const body: EpochBody = {v: 1, kind: 'epoch', agent: key.publicHex, hlc: deps.clock.tick(), name: input.name, starts: input.starts}
  if (input.note !== undefined) body.note = input.note
  const sealed = sealOrExplain(() => seal(body, key), 'epoch')
  const viewer = input.viewer ?? key.publicHex
  const stored = {id: sealed.record.id, name: body.name, starts: body.starts, agent: key.publicHex}
  if (input.storeWide === false) {
    await deps.store.insert([sealed])
    await deps.saveClock()
    return {...stored, viewer, ...(viewer === key.publicHex ? {trusted: true} : {})}
  }
  // The declaration that defines the name in the viewer's queries now: honoured epochs only (an
  // untrusted agent's, or a retracted one, never defined it, so the new one takes over nothing).
  const before = (await gatherPolicy(deps, {self: viewer})).epochs
    .filter((e) => e.name === body.name)
    .sort(compareRecords)
    .at(-1)
  await deps.store.insert([sealed])
  await deps.saveClock()
  const {policy} = await gatherPolicy(deps, {self: viewer})
  const trusted = trustedHere(policy, key.publicHex)
  // An untrusted signer's declaration is set aside: it takes over nothing either (the command says why).
  const redefines = before && trusted ? {redefines: {id: before.id, starts: before.starts, agent: before.agent}} : {}
  return {...stored, trusted, viewer, ...redefines}
}
