/**
 * The operations other parts of steme provide, mounted into the daemon. Each is one line here
 * once its op exists (conflicts from lenses, verify from claims, the sync handler from sync);
 * until then its routes answer 501 not_implemented.
 */
import type {Mounts} from './context.js'

export const MOUNTS: Mounts = {}
