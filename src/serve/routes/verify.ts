/** POST /v1/verify: a claims file and observations in, the `steme verify --json` report out, judged by the op the CLI uses. */
import {isUtf8} from 'node:buffer'
import type {FastifyInstance} from 'fastify'
import {parseVerifyRequest, verifyRequestOp} from '../../ops/verify-request.js'
import type {ServeContext} from '../context.js'
import {HttpError} from '../errors.js'
import {roleAllows} from '../tokens.js'

export function verifyRoutes(app: FastifyInstance, ctx: ServeContext): void {
  app.post<{Body: Buffer}>('/v1/verify', {config: {role: 'read'}}, async (req) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
    if (type !== 'application/json' || !Buffer.isBuffer(req.body)) throw new HttpError('unsupported_media_type', 'a verify request is sent as application/json', 'see POST /v1/verify in GET /v1/openapi.yaml')
    let body: unknown
    try {
      if (!isUtf8(req.body)) throw new Error('its bytes are not UTF-8')
      body = JSON.parse(req.body.toString('utf8'))
    } catch (e) {
      throw new HttpError('bad_request', `the body is not valid JSON: ${(e as Error).message}`)
    }
    const input = parseVerifyRequest(body)
    // Recording writes signed assertions: a write token, and a key on the daemon's host to sign them with.
    if (input.record && !roleAllows(req.principal!.role, 'write')) {
      throw new HttpError('forbidden', `"record": true stores the verdicts and needs a write token; token ${req.principal!.tokenId} has role ${req.principal!.role}`, 'send "record": false, or ask an admin for a write token')
    }
    if (input.record) serverKey(ctx)
    const {store} = ctx.observed.forRequest(false)
    const report = await verifyRequestOp({openStore: async () => ({store, config: ctx.deps.config})}, input)
    if (!input.record) return report
    const {recordVerifyOp} = await import('../../ops/record-verify.js')
    const rec = await recordVerifyOp({...ctx.deps, store}, report)
    return {...report, recorded: rec}
  })
}

/** The daemon's own key, or a clean refusal: without one it cannot sign what it would record. */
function serverKey(ctx: ServeContext): void {
  try {
    ctx.deps.key()
  } catch (e) {
    throw new HttpError('no_key', `this daemon has no signing key, so it cannot record verdicts: ${(e as Error).message}`, 'send "record": false, or give the daemon a key (`steme keys generate` on its host, or STEME_KEY) and restart it')
  }
}
