/** GET /v1/events: server-sent events of records as they are newly stored, optionally only assertions under a subject prefix. */
import type {ServerResponse} from 'node:http'
import type {FastifyInstance} from 'fastify'
import type {ServeContext} from '../context.js'
import type {Added, Subscription} from '../events.js'
import type {Entry} from '../journal.js'

const HEARTBEAT_MS = 15_000
/** A subscriber this far behind is dropped rather than buffered without bound. */
const MAX_BACKLOG = 8 * 1024 * 1024
/** How often open streams check that their token still stands (it is also checked before each event). */
const RECHECK_MS = 1000

/** The data of a `reset` event: the stream could not resume where it was asked to, and what to do about it. */
function resetBody(lost: string, live = false): {code: string; message: string; hint: string} {
  return {
    code: 'resume_lost',
    message: live ? `this stream may have missed records: ${lost}; it goes on live from here` : `cannot resume this stream where it left off: ${lost}; it goes on live from here`,
    hint: 'records stored meanwhile may be missing on your side: read the log again (GET /v1/log, paging with after=<next>) or run `steme pull` against this daemon, and keep this stream open meanwhile; records it sends that you already have carry ids you know',
  }
}

export function eventRoutes(app: FastifyInstance, ctx: ServeContext): {closeAll(): void} {
  const open = new Set<ServerResponse>()
  /** Each open stream's check of its token: true when the stream was ended because the token no longer stands. */
  const checks = new Map<ServerResponse, () => boolean>()
  const recheck = setInterval(() => {
    for (const check of checks.values()) check()
  }, RECHECK_MS)
  recheck.unref()
  app.addHook('onClose', async () => clearInterval(recheck))
  app.get<{Querystring: {subject?: string; 'last-event-id'?: string}}>(
    '/v1/events',
    {
      config: {role: 'read'},
      schema: {querystring: {type: 'object', properties: {subject: {type: 'string', minLength: 1, maxLength: 512}, 'last-event-id': {type: 'string', minLength: 1, maxLength: 128}}}},
    },
    async (req, reply) => {
      const prefix = req.query.subject
      const res = reply.raw
      const headers = {'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no'}
      // HEAD shares this handler: headers only, no stream to hold open.
      if (req.method === 'HEAD') return reply.headers(headers).send()
      // Where to resume: the header a reconnecting EventSource sends, or the parameter for a client
      // that cannot set headers (a new EventSource). The header is the newer when both come.
      const header = req.headers['last-event-id']
      const from = (typeof header === 'string' && header.trim() !== '' ? header.trim() : undefined) ?? req.query['last-event-id']
      reply.hijack()
      res.writeHead(200, {...headers, connection: 'keep-alive'})
      // A live stream that may have missed records says so as a resume does: a reset, then the
      // journal's fresh start mark, so a reconnect from it resumes exactly after what follows.
      const reset = (lost: string): string => `event: reset\ndata: ${JSON.stringify(resetBody(lost, true))}\n\nid: ${ctx.observed.position()}\n\n`
      const wanted = (e: Entry) => prefix === undefined || (e.subject !== undefined && e.subject.startsWith(prefix))
      // A stream's place moves past every record stored, sent or not: a filtered stream gets an
      // `id:` alone for those it skips, which sets the id a reconnect resumes from and is no event.
      const events = (entries: readonly Entry[]): string => {
        let out = ''
        for (const e of entries) if (wanted(e)) out += `id: ${e.id}\nevent: record\ndata: ${e.data}\n\n`
        const last = entries[entries.length - 1]
        if (last && !wanted(last)) out += `id: ${last.id}\n\n`
        return out
      }
      const authorization = req.headers.authorization
      // A token revoked while its stream is open gets no further event: the stream ends, with a last event saying why.
      const revoked = (): boolean => {
        const why = ctx.refusal(authorization, 'read')
        if (why === undefined) return false
        checks.delete(res)
        if (!res.writableEnded) res.end(`event: error\ndata: ${JSON.stringify({error: {code: 'unauthorized', message: why}})}\n\n`)
        return true
      }
      let allowance = MAX_BACKLOG
      // Events that come before the stream's opening is written go after it.
      let early: string | undefined = ''
      const onAdded = ({entries, lost}: Added) => {
        if (revoked()) return
        const out = lost === undefined ? events(entries) : reset(lost)
        if (!out) return
        if (early !== undefined) return void (early += out)
        if (res.writableLength > allowance) return res.destroy()
        res.write(out)
      }
      let sub: Subscription | undefined
      let closed = false
      const beat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS)
      beat.unref()
      open.add(res)
      checks.set(res, revoked)
      ctx.metrics.sseClients.inc()
      res.on('close', () => {
        closed = true
        clearInterval(beat)
        sub?.close()
        open.delete(res)
        checks.delete(res)
        ctx.metrics.sseClients.dec()
      })
      // After the writes under way: what was missed and the live events that follow meet exactly.
      sub = await ctx.observed.subscribe(onAdded, from)
      // Gone meanwhile: the client left, its token was revoked, or the daemon is stopping.
      if (closed || res.writableEnded) return sub.close()
      let start = 'retry: 3000\n: subscribed\n\n'
      if (sub.missed && 'lost' in sub.missed) start += `event: reset\ndata: ${JSON.stringify(resetBody(sub.missed.lost))}\n\n`
      else if (sub.missed) start += events(sub.missed.entries)
      // The place this stream starts from, so a reconnect before any event still resumes here.
      if (!sub.missed || 'lost' in sub.missed || !sub.missed.entries.length) start += `id: ${sub.position}\n\n`
      start += early
      early = undefined
      // The catch-up is sent at once: the bound on how far behind a subscriber may fall starts above it until it drains.
      if (!res.write(start)) {
        allowance = MAX_BACKLOG + Buffer.byteLength(start)
        res.once('drain', () => (allowance = MAX_BACKLOG))
      }
    },
  )
  return {
    closeAll() {
      for (const res of open) res.end()
    },
  }
}
