/** Routes whose operations come from other parts of steme (conflicts, verify, sync): mounted when present, else 501. */
import type {FastifyInstance} from 'fastify'
import type {ConflictsQuery, ServeContext} from '../context.js'
import {HttpError} from '../errors.js'

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
          properties: {lens: {type: 'string', minLength: 1, maxLength: 256}, 'min-score': {type: 'number', minimum: 0, maximum: 1}, limit: {type: 'integer', minimum: 1}, 'as-of': {type: 'string', minLength: 1, maxLength: 64}},
        },
      },
    },
    conflicts ? async (req) => conflicts(ctx.deps, req.query) : notYet('GET /v1/conflicts', 'lenses and `steme conflicts`'),
  )
  if (verify) verify(app, ctx)
  else app.post('/v1/verify', {config: {role: 'read'}}, notYet('POST /v1/verify', 'claims verification'))
  if (sync) await sync(app, ctx)
  else app.post('/v1/sync', {config: {role: 'read'}}, notYet('sync over HTTP', 'the sync protocol'))
}
