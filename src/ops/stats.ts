/** Counts of what a store holds. */
import type {StoreStats} from '../core/store.js'
import type {Deps} from './deps.js'

export async function statsOp(deps: Pick<Deps, 'store'>): Promise<StoreStats & {location: string; clock: string}> {
  const s = await deps.store.stats()
  return {location: deps.store.location, clock: (deps as Partial<Deps>).clock?.current() ?? '', ...s}
}
