/**
 * The operations other parts of steme provide, mounted into the daemon. Each is one line here
 * once its op exists (conflicts from lenses, verify from claims, the sync handler from sync);
 * until then its routes answer 501 not_implemented.
 */
import {inputName, type Naming} from '../core/naming.js'
import {conflictsPageOp, parseConflictPosition} from '../ops/conflicts.js'
import {CONFLICTS_DEFAULT, CONFLICTS_MAX} from './client.js'
import type {ConflictsQuery, Mounts} from './context.js'
import type {Deps} from '../ops/deps.js'
import {syncRoutes} from './routes/sync.js'
import {verifyRoutes} from './routes/verify.js'

export const MOUNTS: Mounts = {
  conflicts: conflictsPage,
  sync: syncRoutes,
  verify: verifyRoutes,
}

/**
 * GET /v1/conflicts answers a page: `limit` pairs (CONFLICTS_DEFAULT when not given), and `next`
 * when more follow. A client that gave no limit may be a steme from before pages, which shows
 * the answer as the whole list: the answer then says in a note that it is not.
 */
async function conflictsPage(deps: Deps, q: ConflictsQuery, naming: Naming): Promise<unknown> {
  // Only ever a daemon's own `next` handed back (the CLI has no flag for it), so named as the parameter.
  const after = q.after === undefined ? undefined : parseConflictPosition(q.after, inputName('after', 'params'))
  // `overlap`: this daemon scores a timeline as no conflict, `instants`: without a date, by the
  // highest score any one date gets, and `supersessionAtDates`: each date with its own
  // supersession; a client cannot tell any of them from the scores.
  const page = {
    ...(await conflictsPageOp(deps, {lens: q.lens, minScore: q['min-score'], limit: q.limit ?? CONFLICTS_DEFAULT, after, asOf: q['as-of'], validAt: q['valid-at'], naming})),
    overlap: true as const,
    instants: true as const,
    supersessionAtDates: true as const,
  }
  if (q.limit !== undefined || page.next === undefined) return page
  const cut =
    naming === 'flags'
      ? `this daemon sends at most ${CONFLICTS_DEFAULT} pairs at a time, and this steme is too old to ask for the rest: the list goes on. Upgrade steme here to the daemon's version (it pages through them), or pass --limit (at most ${CONFLICTS_MAX})`
      : `this page holds the first ${CONFLICTS_DEFAULT} pairs (the default limit), and the list goes on: pass after=<next> for the next page, or a larger limit (at most ${CONFLICTS_MAX})`
  return {...page, notes: [...(page.notes ?? []), cut]}
}
