/** Counts of what a store holds. */
import type {StoreStats} from '../core/store.js'
import type {Deps} from './deps.js'

export async function statsOp(deps: Pick<Deps, 'store'>): Promise<StoreStats & {location: string; clock: string}> {
  const [s, saved, stored] = await Promise.all([deps.store.stats(), deps.store.getMeta('hlc'), deps.store.maxHlc()])
  const clock = [saved, stored].filter((x): x is string => !!x).sort().pop() ?? ''
  return {location: deps.store.location, clock, ...s}
}
