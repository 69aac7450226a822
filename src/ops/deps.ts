/** What operations need from the composition root; the Runtime provides it, tests can build it by hand. */
import type {Hlc} from '../core/hlc.js'
import type {KeyPair} from '../core/sign.js'
import type {Store} from '../core/store.js'
import type {StoreConfig} from '../config.js'

export interface Deps {
  store: Store
  clock: Hlc
  config: StoreConfig
  key(): KeyPair
  saveClock(): Promise<void>
}
