/** Integrity check: recompute every id and verify every signature; report each bad record. */
import {initHash} from '../core/hash.js'
import {checkStored} from '../core/seal.js'
import type {Deps} from './deps.js'

export interface FsckResult {
  checked: number
  bad: Array<{id: string; reason: string}>
}

export async function fsckOp(deps: Pick<Deps, 'store'>, input: {onProgress?: (checked: number) => void} = {}): Promise<FsckResult> {
  await initHash()
  const bad: FsckResult['bad'] = []
  let checked = 0
  for await (const batch of deps.store.scan({batch: 4096})) {
    for (const {record: r, canonical} of batch) {
      const reason = checkStored(r.id, canonical, r.agent, r.sig)
      if (reason) bad.push({id: r.id, reason})
    }
    checked += batch.length
    input.onProgress?.(checked)
  }
  return {checked, bad}
}
