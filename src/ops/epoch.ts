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
  /** The viewer's queries count it (see below): the signer is the viewer, pre-trusted, or tier trusted or above. */
  trusted: boolean
  viewer: string
  /** The declaration of this name that defined it before in the viewer's queries (the latest honoured, by hlc, id), when there was one: this one now does. */
  redefines?: {id: string; starts: string; agent: string}
}

/** `viewer`: the agent whose queries the report speaks for (your default key, when signing with another); the signer when absent. */
export async function epochOp(deps: Deps, input: {name: string; starts: string; note?: string; viewer?: string}): Promise<EpochResult> {
  const key = deps.key()
  const body: EpochBody = {v: 1, kind: 'epoch', agent: key.publicHex, hlc: deps.clock.tick(), name: input.name, starts: input.starts}
  if (input.note !== undefined) body.note = input.note
  const sealed = sealOrExplain(() => seal(body, key), 'epoch')
  const viewer = input.viewer ?? key.publicHex
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
  return {id: sealed.record.id, name: body.name, starts: body.starts, agent: key.publicHex, trusted, viewer, ...redefines}
}
