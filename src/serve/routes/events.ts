/** GET /v1/events: server-sent events of records as they are newly stored, optionally only assertions under a subject prefix. */
import type {ServerResponse} from 'node:http'
import type {FastifyInstance} from 'fastify'
import type {SignedRecord} from '../../core/record.js'
import type {ServeContext} from '../context.js'
import type {Added} from '../events.js'

const HEARTBEAT_MS = 15_000
/** A subscriber this far behind is dropped rather than buffered without bound. */
const MAX_BACKLOG = 8 * 1024 * 1024
/** How often open streams check that their token still stands (it is also checked before each event). */
const RECHECK_MS = 1000

export function eventRoutes(app: FastifyInstance, ctx: ServeContext): {closeAll(): void} {
  const open = new Set<ServerResponse>()
  /** Each open stream's check of its token: true when the stream was ended because the token no longer stands. */
  const checks = new Map<ServerResponse, () => boolean>()
  const recheck = setInterval(() => {
    for (const check of checks.values()) check()
  }, RECHECK_MS)
  recheck.unref()
  app.addHook('onClose', async () => clearInterval(recheck))
  app.get<{Querystring: {subject?: string}}>(
    '/v1/events',
    {config: {role: 'read'}, schema: {querystring: {type: 'object', properties: {subject: {type: 'string', minLength: 1, maxLength: 512}}}}},
    (req, reply) => {
      const prefix = req.query.subject
      const res = reply.raw
      const headers = {'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no'}
      // HEAD shares this handler: headers only, no stream to hold open.
      if (req.method === 'HEAD') return reply.headers(headers).send()
      reply.hijack()
      res.writeHead(200, {...headers, connection: 'keep-alive'})
      res.write('retry: 3000\n: subscribed\n\n')
      const wanted = (r: SignedRecord) => prefix === undefined || (r.kind === 'assertion' && r.subject.startsWith(prefix))
      const authorization = req.headers.authorization
      // A token revoked while its stream is open gets no further event: the stream ends, with a last event saying why.
      const revoked = (): boolean => {
        const why = ctx.refusal(authorization, 'read')
        if (why === undefined) return false
        checks.delete(res)
        if (!res.writableEnded) res.end(`event: error\ndata: ${JSON.stringify({error: {code: 'unauthorized', message: why}})}\n\n`)
        return true
      }
      const onAdded = ({records}: Added) => {
        if (revoked()) return
        let out = ''
        for (const r of records) if (wanted(r)) out += `id: ${r.id}\nevent: record\ndata: ${JSON.stringify(r)}\n\n`
        if (!out) return
        if (res.writableLength > MAX_BACKLOG) return res.destroy()
        res.write(out)
      }
      const beat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS)
      beat.unref()
      ctx.observed.on('added', onAdded)
      open.add(res)
      checks.set(res, revoked)
      ctx.metrics.sseClients.inc()
      res.on('close', () => {
        clearInterval(beat)
        ctx.observed.off('added', onAdded)
        open.delete(res)
        checks.delete(res)
        ctx.metrics.sseClients.dec()
      })
    },
  )
  return {
    closeAll() {
      for (const res of open) res.end()
    },
  }
}
