/** POST /v1/verify: a claims file and observations in, the `steme verify --json` report out, judged by the op the CLI uses. */
import {isUtf8} from 'node:buffer'
import type {FastifyInstance} from 'fastify'
import {selfOf} from '../../ops/context.js'
import {parseVerifyRequest, verifyRequestOp} from '../../ops/verify-request.js'
import type {ServeContext} from '../context.js'
import {HttpError, mediaType} from '../errors.js'

export function verifyRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.post<{Body: Buffer}>('/v1/verify', {config: {role: 'read'}}, async (req) => {
    const type = mediaType(req)
    if (type !== 'application/json' || !Buffer.isBuffer(req.body)) throw new HttpError('unsupported_media_type', 'a verify request is sent as application/json', 'see POST /v1/verify in GET /v1/openapi.yaml')
    let body: unknown
    try {
      if (!isUtf8(req.body)) throw new Error('its bytes are not UTF-8')
      body = JSON.parse(req.body.toString('utf8'))
    } catch (e) {
      throw new HttpError('bad_request', `the body is not valid JSON: ${(e as Error).message}`)
    }
    const input = parseVerifyRequest(body)
    // Recording would sign assertions with the daemon host's key, for subjects and values the
    // client chose: the daemon never signs on anyone's behalf. Clients record with their own key.
    if (input.record) {
      throw new HttpError('usage', 'this daemon does not record verdicts: it never signs on a client\'s behalf, so "record": true is refused', 'send "record": false; to record, run `steme verify --record --remote <url>`, which signs the verdicts with your key and posts them')
    }
    const {store} = ctx.observed.forRequest(false)
    // Self in a claim's lens is the daemon's key, as in GET /v1/query; only its public half is passed on.
    return verifyRequestOp({openStore: async () => ({store, config: ctx.deps.config, self: selfOf(ctx.deps)})}, input)
  })
}
