/** Routes whose operations come from other parts of steme (conflicts, verify, sync): mounted when present, else 501. */
import {Readable} from 'node:stream'
import type {FastifyInstance, FastifyReply, FastifyRequest} from 'fastify'
import type {ConflictsQuery, ServeContext} from '../context.js'
import type {Naming} from '../../core/naming.js'
import {HttpError, namingOf} from '../errors.js'
import {LENS_MAX} from './read.js'
import {CONFLICTS_MAX} from '../client.js'

/** The longest `after` of GET /v1/conflicts: JSON of the largest subject and predicate, every unit escaped (6 characters), in base64url. */
const CONFLICTS_AFTER_MAX = Math.ceil(((512 + 256) * 6 + 64) / 3) * 4

const notYet = (what: string, part: string) => async () => {
  throw new HttpError('not_implemented', `${what} is not available in this build of steme serve`, `it arrives with ${part}; upgrade steme`)
}

export async function mountedRoutes(app: FastifyInstance, ctx: ServeContext): Promise<void> {
  const {conflicts, verify, sync} = ctx.mounts
  app.get<{Querystring: ConflictsQuery}>(
    '/v1/conflicts',
    {
      config: {role: 'read'},
      schema: {
        querystring: {
          type: 'object',
          properties: {
            lens: {type: 'string', minLength: 1, maxLength: LENS_MAX},
            'min-score': {type: 'number', minimum: 0, maximum: 1},
            limit: {type: 'integer', minimum: 1, maximum: CONFLICTS_MAX},
            // A page's `next`: base64url of a score, a subject (512 UTF-16 units at most) and a predicate (256).
            after: {type: 'string', minLength: 1, maxLength: CONFLICTS_AFTER_MAX},
            'as-of': {type: 'string', minLength: 1, maxLength: 64},
            'valid-at': {type: 'string', minLength: 1, maxLength: 64},
          },
        },
      },
    },
    conflicts ? streamed(oneAtATime(([q, naming]: [ConflictsQuery, Naming]) => conflicts(ctx.deps, q, naming), (req) => [req.query, namingOf(req)])) : notYet('GET /v1/conflicts', 'lenses and `steme conflicts`'),
  )
  if (verify) verify(app, ctx)
  else app.post('/v1/verify', {config: {role: 'read'}}, notYet('POST /v1/verify', 'claims verification'))
  if (sync) await sync(app, ctx)
  else app.post('/v1/sync', {config: {role: 'read'}}, notYet('sync over HTTP', 'the sync protocol'))
}

/**
 * GET /v1/conflicts reads every contested pair of the store (a batch at a time) and resolves each:
 * run one at a time (so concurrent calls cannot multiply that work), and let identical requests
 * waiting together share one answer.
 */
function oneAtATime<Q>(op: (q: Q) => Promise<unknown>, query: (req: FastifyRequest) => unknown) {
  let tail: Promise<unknown> = Promise.resolve()
  const pending = new Map<string, Promise<unknown>>()
  return async (req: FastifyRequest): Promise<unknown> => {
    const q = query(req) as Q
    const key = JSON.stringify(q)
    const shared = pending.get(key)
    if (shared) return shared
    const run = tail.then(
      () => {
        pending.delete(key)
        return op(q)
      },
      () => {
        pending.delete(key)
        return op(q)
      },
    )
    pending.set(key, run)
    tail = run.catch(() => undefined)
    return run
  }
}

/**
 * Send a handler's answer as JSON text written a piece at a time: the same bytes JSON.stringify
 * gives, without that text (and the copy the socket makes of it) held whole. Every contested
 * pair of a 1M-record store is ~70 MB of JSON.
 */
function streamed(handler: (req: FastifyRequest) => Promise<unknown>) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const answer = await handler(req)
    return reply.type('application/json; charset=utf-8').send(Readable.from(jsonPieces(answer)))
  }
}

/** JSON.stringify(value) in pieces of about 64 KiB: each member of a top-level object's arrays is stringified alone. */
export function* jsonPieces(value: unknown, size = 64 * 1024): Generator<string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || typeof (value as {toJSON?: unknown}).toJSON === 'function') {
    yield JSON.stringify(value) ?? 'null'
    return
  }
  let buf = '{'
  let first = true
  for (const [k, v] of Object.entries(value)) {
    if (!Array.isArray(v) || typeof (v as {toJSON?: unknown}).toJSON === 'function') {
      const text = JSON.stringify(v)
      // What JSON.stringify leaves out of an object (undefined, a function, a symbol).
      if (text === undefined) continue
      buf += (first ? '' : ',') + JSON.stringify(k) + ':' + text
      first = false
      continue
    }
    buf += (first ? '' : ',') + JSON.stringify(k) + ':['
    first = false
    for (let i = 0; i < v.length; i++) {
      buf += (i ? ',' : '') + (JSON.stringify(v[i]) ?? 'null')
      if (buf.length >= size) {
        yield buf
        buf = ''
      }
    }
    buf += ']'
  }
  yield buf + '}'
}
