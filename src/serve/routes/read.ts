/** Read routes: thin mappings from query strings to queryOp, showOp, logOp and statsOp, the ops the CLI calls. */
import type {FastifyInstance} from 'fastify'
import {hlcBound} from '../../core/hlc.js'
import {logOp} from '../../ops/log.js'
import {queryOp} from '../../ops/query.js'
import {showOp} from '../../ops/show.js'
import {statsOp} from '../../ops/stats.js'
import type {ServeContext} from '../context.js'

/** Most records one GET /v1/log returns; a client pages on with `since`. */
export const LOG_MAX = 100_000

const text = (max: number) => ({type: 'string', minLength: 1, maxLength: max}) as const

export function readRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const {deps} = ctx
  app.get<{Querystring: {subject: string; predicate?: string; lens?: string; 'as-of'?: string; 'valid-at'?: string; 'include-retracted'?: boolean; explain?: boolean; all?: boolean}}>(
    '/v1/query',
    {
      config: {role: 'read'},
      schema: {
        querystring: {
          type: 'object',
          required: ['subject'],
          properties: {subject: text(512), predicate: text(256), lens: text(256), 'as-of': text(64), 'valid-at': text(64), 'include-retracted': {type: 'boolean'}, explain: {type: 'boolean'}, all: {type: 'boolean'}},
        },
      },
    },
    // explain and all shape only human output: the JSON always carries explanations and every candidate, as `steme query --json` does.
    async (req) =>
      queryOp(deps, {subject: req.query.subject, predicate: req.query.predicate, lens: req.query.lens, asOf: req.query['as-of'], validAt: req.query['valid-at'], includeRetracted: req.query['include-retracted']}),
  )

  app.get<{Params: {id: string}}>(
    '/v1/records/:id',
    {config: {role: 'read'}, schema: {params: {type: 'object', properties: {id: text(200)}}}},
    async (req) => showOp(deps, {id: req.params.id}),
  )

  app.get<{Querystring: {subject?: string; since?: string; limit?: number}}>(
    '/v1/log',
    {
      config: {role: 'read'},
      schema: {querystring: {type: 'object', properties: {subject: text(512), since: text(64), limit: {type: 'integer', minimum: 1, maximum: LOG_MAX}}}},
    },
    async (req) => logOp(deps, {subject: req.query.subject, since: req.query.since === undefined ? undefined : hlcBound(req.query.since), limit: req.query.limit ?? LOG_MAX}),
  )

  app.get('/v1/stats', {config: {role: 'read'}}, async () => statsOp(deps))
}
