/** GET /v1/events: server-sent events of records as they are newly stored, optionally only assertions under a subject prefix. */
import type {ServerResponse} from 'node:http'
import type {FastifyInstance} from 'fastify'
import type {ServeContext} from '../context.js'
import {REQUEST_ID_HEADER} from '../errors.js'
import type {Added, Subscription} from '../events.js'
import type {Entry} from '../journal.js'

const HEARTBEAT_MS = 15_000
/** A subscriber this far behind is dropped rather than buffered without bound. */
const MAX_BACKLOG = 8 * 1024 * 1024
/** How often open streams check that their token still stands (it is also checked before each event). */
const RECHECK_MS = 1000
/** The size (characters) of the pieces a resuming stream's catch-up is written in. */
const PIECE = 64 * 1024

/**
 * Write pieces in order, each once the socket has taken the one before (`drain`). False when the
 * stream went away meanwhile (`gone`), or `stop` ended it: write nothing more.
 */
async function writeAll(res: ServerResponse, pieces: Iterable<string>, gone: () => boolean, stop: () => boolean = () => false): Promise<boolean> {
  for (const piece of pieces) {
    if (gone() || stop()) return false
    if (!res.write(piece)) await drained(res)
  }
  return !gone()
}

/** Until the socket has taken what was written, or the response ended or closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      res.off('finish', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
    res.on('finish', done)
  })
}

/** The data of a `reset` event: the stream could not resume where it was asked to, and what to do about it. */
function resetBody(lost: string, live = false): {code: string; message: string; hint: string} {
  return {
    code: 'resume_lost',
    message: live ? `this stream may have missed records: ${lost}; it goes on live from here` : `cannot resume this stream where it left off: ${lost}; it goes on live from here`,
    hint: 'records stored meanwhile may be missing on your side: read the log again (GET /v1/log, paging with after=<next>) or run `steme pull` against this daemon, and keep this stream open meanwhile; records it sends that you already have carry ids you know',
  }
}

export function eventRoutes(app: FastifyInstance, ctx: ServeContext, heartbeatMs = HEARTBEAT_MS): {closeAll(): void} {
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
      res.writeHead(200, {...headers, connection: 'keep-alive', [REQUEST_ID_HEADER]: req.id})
      // A live stream that may have missed records says so as a resume does: a reset, then the
      // journal's fresh start mark, so a reconnect from it resumes exactly after what follows.
      const reset = (lost: string): string => `event: reset\ndata: ${JSON.stringify(resetBody(lost, true))}\n\nid: ${ctx.observed.position()}\n\n`
      const wanted = (e: Entry) => prefix === undefined || (e.subject !== undefined && e.subject.startsWith(prefix))
      // A stream's place moves past every record stored, sent or not: a filtered stream gets an
      // `id:` alone for those it skips, which sets the id a reconnect resumes from and is no event.
      // In pieces of about `size` characters, each ending between two events.
      function* eventPieces(entries: readonly Entry[], size: number): Generator<string> {
        let out = ''
        for (const e of entries) {
          if (!wanted(e)) continue
          out += `id: ${e.id}\nevent: record\ndata: ${e.data}\n\n`
          if (out.length >= size) {
            yield out
            out = ''
          }
        }
        const last = entries[entries.length - 1]
        if (last && !wanted(last)) out += `id: ${last.id}\n\n`
        if (out) yield out
      }
      const events = (entries: readonly Entry[]): string => [...eventPieces(entries, Infinity)].join('')
      const authorization = req.headers.authorization
      // A token revoked while its stream is open gets no further event: the stream ends, with a last event saying why.
      const revoked = (): boolean => {
        const why = ctx.refusal(authorization, 'read')
        if (why === undefined) return false
        checks.delete(res)
        if (!res.writableEnded) res.end(`event: error\ndata: ${JSON.stringify({error: {code: 'unauthorized', message: why}})}\n\n`)
        return true
      }
      // Live events that come before the stream's opening and catch-up are written wait here, in
      // order, and go after them; bounded as the socket's buffer is bounded after.
      let early: string[] | undefined = []
      let earlyChars = 0
      const onAdded = ({entries, lost}: Added) => {
        if (revoked()) return
        const out = lost === undefined ? events(entries) : reset(lost)
        if (!out) return
        if (early !== undefined) {
          earlyChars += out.length
          if (earlyChars > MAX_BACKLOG) return res.destroy()
          return void early.push(out)
        }
        if (ended()) return
        if (res.writableLength > MAX_BACKLOG) return res.destroy()
        res.write(out)
      }
      let sub: Subscription | undefined
      let closed = false
      // A stream ended (revoked, the daemon stopping) stays open until its client has read what
      // was written before the end; a write meanwhile is an 'error' event that nobody listens
      // for once fastify has let go of the response, which takes the whole daemon down.
      const ended = () => closed || res.writableEnded || res.destroyed
      const beat = setInterval(() => {
        if (!ended()) res.write(': ping\n\n')
      }, heartbeatMs)
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
      const missed = sub.missed && 'entries' in sub.missed ? sub.missed.entries : []
      // The place this stream starts from, so a reconnect before any event still resumes here.
      if (!missed.length) start += `id: ${sub.position}\n\n`
      // What was missed (up to the journal's 32 MiB), then the live events that came meanwhile, a
      // piece at a time as the client takes them: never copied whole into one string, nor into
      // the socket's buffer.
      if (!(await writeAll(res, [start], ended)) || !(await writeAll(res, eventPieces(missed, PIECE), ended, revoked))) return
      while (early.length) {
        const out = early.shift()!
        earlyChars -= out.length
        if (!(await writeAll(res, [out], ended))) return
      }
      early = undefined
    },
  )
  return {
    closeAll() {
      for (const res of open) res.end()
    },
  }
}
