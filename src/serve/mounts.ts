/**
 * The operations other parts of steme provide, mounted into the daemon. Each is one line here
 * once its op exists (conflicts from lenses, verify from claims, the sync handler from sync);
 * until then its routes answer 501 not_implemented.
 */
import {conflictsOp} from '../ops/conflicts.js'
import type {Mounts} from './context.js'
import {syncRoutes} from './routes/sync.js'
import {verifyRoutes} from './routes/verify.js'

export const MOUNTS: Mounts = {
  conflicts: (deps, q, naming) => conflictsOp(deps, {lens: q.lens, minScore: q['min-score'], limit: q.limit, asOf: q['as-of'], validAt: q['valid-at'], naming}),
  sync: syncRoutes,
  verify: verifyRoutes,
}
