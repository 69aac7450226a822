/** What every route of the daemon gets: the runtime's deps, the observed store, metrics, the shared worker pool, the mounts. */
import type {FastifyInstance} from 'fastify'
import type {Naming} from '../core/naming.js'
import type {Deps} from '../ops/deps.js'
import type {ChunkRunner} from '../ops/verify-pool.js'
import type {ObservedStore} from './events.js'
import type {Metrics} from './metrics.js'
import type {Role} from './tokens.js'

/** Operations that other parts of steme own; the daemon mounts each with one line in mounts.ts. */
export interface Mounts {
  /** GET /v1/conflicts: the validated query string in (and how its messages name it), a page of the `steme conflicts --json` result out (with `limit`, and `next` when more follow). */
  conflicts?: (deps: Deps, query: ConflictsQuery, naming: Naming) => Promise<unknown>
  /** POST /v1/verify ({claims, observations} in, the `steme verify --json` report out): registers the route, with its `config.role`. */
  verify?: (app: FastifyInstance, ctx: ServeContext) => void
  /** The sync protocol's HTTP side: registers POST /v1/sync (and anything else it needs), each route with a `config.role`. */
  sync?: (app: FastifyInstance, ctx: ServeContext) => Promise<void> | void
}

/** The query string of GET /v1/conflicts, named as `steme conflicts` names its flags. */
export interface ConflictsQuery {
  lens?: string
  'min-score'?: number
  limit?: number
  /** A page's `next`: the page after it. */
  after?: string
  'as-of'?: string
  'valid-at'?: string
}

export interface ServeContext {
  /** The runtime's deps (its key, when the daemon's host has one, is the store's own agent for trust; it never signs for clients). */
  deps: Deps
  observed: ObservedStore
  metrics: Metrics
  runner: ChunkRunner
  allowAgents?: string[]
  mounts: Mounts
  /** Most records one POST /v1/records reports rejections for (all are counted). */
  maxErrors: number
  /**
   * Check an Authorization header again, against the token file as it is now: why it no longer
   * grants `role` (revoked, for one), or undefined while it still does. Long-lived responses
   * (event streams) call it to end a stream whose token was revoked.
   */
  refusal(authorization: string | undefined, role: Role): string | undefined
  /** Aborted once shutdown has dropped the connections still open: long work stops at its next step, keeping what it stored. */
  stopping: AbortSignal
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The least role a route needs; undefined means public (healthz, openapi). */
    role?: Role
    /** A route a monitor calls (/metrics): it reads no query, and a scraper's own parameters are no error. */
    anyQuery?: boolean
  }
  interface FastifyRequest {
    principal?: import('./tokens.js').Principal
    /** Why auth refused the request (sent after the rate limiter counted it). */
    authError?: Error
  }
}
