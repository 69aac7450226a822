/** The HTTP(S) transport: POST each message to `<base>/v1/sync` of `steme serve` (or the minimal server in sync/http-server.ts). */
import type {Agent, ClientRequest, IncomingHttpHeaders} from 'node:http'
import {UserError} from '../../core/errors.js'
import {TransientError, type Transport} from '../../core/transport.js'
import {MAX_MESSAGE} from '../wire.js'
import {isUntrustedCert, UNTRUSTED_CERT_HINT, wrongScheme} from '../../tls-trust.js'

export const SYNC_PATH = '/v1/sync'
export const SYNC_MEDIA_TYPE = 'application/x-steme-sync'

const TOKEN_HINT = 'set STEME_TOKEN (or pass --token) to a token from `steme serve token create --role read|write` on that server (write to push or sync)'
const ENDPOINT_HINT = 'point the remote at the URL `steme serve` prints (e.g. http://host:7411) or at a `steme sync-serve --http` URL'

/** Connection errors that say the URL is wrong, or nothing serves there (before any answer came). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'])

/** One answer: its status, headers and whole body (read up to MAX_MESSAGE). */
interface Answer {
  status: number
  statusText: string
  headers: IncomingHttpHeaders
  body: Buffer
}

/** The answer said it is, or turned out to be, larger than MAX_MESSAGE. */
class TooLarge extends Error {
  constructor(readonly bytes: number) {
    super(`a response of ${bytes} bytes exceeds the bound of ${MAX_MESSAGE}`)
  }
}

/** The exchange broke off once made: the time ran out, or the connection closed mid-answer. */
class Cut extends Error {}

/**
 * One POST over node:http(s), not fetch: fetch refuses the ports browsers block (6000, 6665-6669,
 * 10080, ...), where `steme serve` and `sync-serve --http` listen as well as anywhere, and a
 * connection that drops mid-answer comes out of it as a bare TypeError. The whole exchange,
 * answer included, has `timeoutMs`. A server that answers before it has read the whole request
 * (a 413 on the Content-Length alone) is heard: the error writing the rest is dropped once an
 * answer came. Connections are kept alive between requests.
 */
async function post(url: URL, agent: Agent, body: Uint8Array, headers: Record<string, string>, timeoutMs: number, retryStale = true): Promise<Answer> {
  const {request} = url.protocol === 'https:' ? await import('node:https') : await import('node:http')
  return new Promise<Answer>((resolve, reject) => {
    let heard = false
    let settled = false
    let timer: NodeJS.Timeout | undefined
    const done = (e: Error | undefined, a?: Answer) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (e) reject(e)
      else resolve(a!)
    }
    let req: ClientRequest
    try {
      // Thrown at once for a header node:http will not send (a token with a line break).
      req = request(url, {method: 'POST', agent, headers: {...headers, 'content-length': String(body.length)}})
    } catch (e) {
      done(e as Error)
      return
    }
    timer = setTimeout(() => {
      done(new Cut(`no answer in ${Math.round(timeoutMs / 1000)} s`))
      req.destroy()
    }, timeoutMs)
    req.on('response', (res) => {
      heard = true
      const len = Number(res.headers['content-length'] ?? 0)
      if (len > MAX_MESSAGE) {
        done(new TooLarge(len))
        req.destroy()
        return
      }
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        if (size > MAX_MESSAGE) {
          done(new TooLarge(size))
          req.destroy()
          return
        }
        chunks.push(c)
      })
      res.on('end', () => {
        // A body shorter than its Content-Length ends too, marked incomplete.
        if (!res.complete) done(new Cut('the connection closed before the whole answer came'))
        else done(undefined, {status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks)})
      })
      res.on('aborted', () => done(new Cut('the connection closed before the whole answer came')))
      res.on('error', (e) => done(new Cut(`the connection failed before the whole answer came (${(e as NodeJS.ErrnoException).code ?? e.message})`)))
    })
    req.on('error', (e) => {
      if (heard || settled) return
      // The kept-alive connection had closed at the other end (an idle timeout, a restart) as it
      // was reused: once at once on a new one, as nothing of this request was answered.
      const code = (e as NodeJS.ErrnoException).code
      if (req.reusedSocket && retryStale && (code === 'ECONNRESET' || code === 'EPIPE')) {
        settled = true
        clearTimeout(timer)
        post(url, agent, body, headers, timeoutMs, false).then(resolve, reject)
      } else done(e)
    })
    req.end(body)
  })
}

/** A steme JSON error body ({error: {message, hint}}), if the answer is one. */
function stemeError(body: Buffer, type: string): {message?: string; hint?: string} | undefined {
  if (type !== 'application/json') return undefined
  try {
    const err = (JSON.parse(body.toString('utf8')) as {error?: {message?: unknown; hint?: unknown}})?.error
    if (!err || typeof err.message !== 'string') return undefined
    return {message: err.message, hint: typeof err.hint === 'string' ? err.hint : undefined}
  } catch {
    return undefined
  }
}

export function openHttpTransport(remote: string, baseUrl: string, opts: {timeoutMs?: number; headers?: Record<string, string>} = {}): Transport {
  const url = baseUrl.replace(/\/+$/, '') + SYNC_PATH
  const target = new URL(url)
  // Once the remote has answered, a refused connection means it went away mid-sync (restarted,
  // stopped): worth retrying, unlike a URL where nothing ever served.
  let answered = false
  // One connection kept alive across the sync's requests; close() ends it.
  let agent: Agent | undefined
  return {
    remote,
    async request(message) {
      agent ??= new (target.protocol === 'https:' ? (await import('node:https')).Agent : (await import('node:http')).Agent)({keepAlive: true, maxSockets: 1})
      let res: Answer
      try {
        // Redirects are not followed (node:http never does): the bearer token would go wherever one points.
        res = await post(target, agent, message, {'content-type': SYNC_MEDIA_TYPE, accept: SYNC_MEDIA_TYPE, ...opts.headers}, opts.timeoutMs ?? 120_000)
      } catch (e) {
        if (e instanceof TooLarge) throw new UserError(`remote ${remote}: ${e.message}`, {code: 'too_large', exit: 1})
        if (e instanceof Cut) throw new TransientError(`remote ${remote}: ${url}: ${e.message}`, {cause: e})
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).name
        // Asking again meets the same certificate.
        if (isUntrustedCert(code)) throw new UserError(`remote ${remote}: cannot reach ${baseUrl} (${code})`, {code: 'remote', exit: 1, hint: UNTRUSTED_CERT_HINT, cause: e})
        if (UNREACHABLE.has(code) && !answered) {
          throw new UserError(`remote ${remote}: cannot reach ${baseUrl} (${code})`, {code: 'remote', exit: 1, hint: 'check the URL (`steme remote list`) and that `steme serve` runs there'})
        }
        // A request node:http will not make (a header value with a line break): it recurs on every
        // attempt. The value it may quote can be the token, so quoted text is left out.
        if (/^ERR_(INVALID_|HTTP_INVALID_)/.test(code)) {
          throw new UserError(`remote ${remote}: the request could not be made: ${(e as Error).message.replace(/"[^"]*"/g, '"…"')}`, {code: 'remote', exit: 1, hint: 'check the remote URL, and the token in STEME_TOKEN or --token', cause: e})
        }
        // A URL of the wrong scheme for its server: asking again meets the same server.
        if (!answered) {
          const wrong = await wrongScheme(target, baseUrl, e)
          if (wrong) throw new UserError(`remote ${remote}: ${wrong.message}`, {code: 'remote', exit: 1, hint: wrong.hint, cause: e})
        }
        throw new TransientError(`remote ${remote}: request to ${url} failed (${code})`, {cause: e})
      }
      const type = String(res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
      const answer = `${res.status}${type ? ` ${type}` : ''}`
      if (res.status >= 300 && res.status < 400) {
        const to = res.headers.location
        throw new UserError(`remote ${remote}: ${url} redirected${to ? ` to ${to}` : ''} (${res.status}); steme does not follow redirects`, {code: 'remote', exit: 1, hint: to ? 'use the URL it redirects to, if you trust it (the token is sent to that URL)' : ENDPOINT_HINT})
      }
      // A missing, wrong or revoked token is a configuration error (exit 2), as for the --remote commands.
      if (res.status === 401 || res.status === 403) {
        const err = stemeError(res.body, type)
        throw new UserError(`remote ${remote}: ${url} refused the request (${res.status})${err?.message ? `: ${err.message}` : ''}`, {code: 'unauthorized', exit: 2, hint: TOKEN_HINT})
      }
      // Not the sync protocol: another kind of server (501/405: it does not take POST; a page; a
      // JSON API). Asking again gets the same answer. A steme serve built without sync says so.
      if (res.status === 501 || res.status === 405 || (res.status === 200 && type !== SYNC_MEDIA_TYPE)) {
        const err = stemeError(res.body, type)
        if (err?.message) throw new UserError(`remote ${remote}: ${err.message} (${url} answered ${res.status})`, {code: 'remote', exit: 1, hint: err.hint ?? ENDPOINT_HINT})
        throw new UserError(`remote ${remote}: ${baseUrl} is not a steme sync endpoint (POST ${SYNC_PATH} answered ${answer})`, {code: 'remote', exit: 1, hint: ENDPOINT_HINT})
      }
      if (res.status >= 500 || res.status === 429) throw new TransientError(`remote ${remote}: ${url} answered ${res.status}`)
      if (res.status === 404) throw new UserError(`remote ${remote}: ${url} does not serve sync (404)`, {code: 'remote', exit: 1, hint: 'point the remote at the base URL of `steme serve`, e.g. http://host:7411'})
      if (res.status === 413) throw new UserError(`remote ${remote}: ${url} refused a message as too large`, {code: 'too_large', exit: 1})
      if (res.status !== 200) throw new UserError(`remote ${remote}: ${url} answered ${res.status} ${res.statusText}`, {code: 'remote', exit: 1})
      answered = true
      return new Uint8Array(res.body.buffer, res.body.byteOffset, res.body.length)
    },
    async close() {
      agent?.destroy()
      agent = undefined
    },
  }
}
