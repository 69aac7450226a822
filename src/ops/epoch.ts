/** Declare a named epoch: an era, starting at a date, that epoch-aware lenses use. */
import type {EpochBody} from '../core/record.js'
import {seal} from '../core/seal.js'
import type {Deps} from './deps.js'
import {sealOrExplain} from './sealing.js'

export async function epochOp(deps: Deps, input: {name: string; starts: string; note?: string}): Promise<{id: string; name: string; starts: string}> {
  const key = deps.key()
  const body: EpochBody = {v: 1, kind: 'epoch', agent: key.publicHex, hlc: deps.clock.tick(), name: input.name, starts: input.starts}
  if (input.note !== undefined) body.note = input.note
  const sealed = sealOrExplain(() => seal(body, key), 'epoch')
  await deps.store.insert([sealed])
  await deps.saveClock()
  return {id: sealed.record.id, name: body.name, starts: body.starts}
}
