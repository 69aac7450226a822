/** The HTTP(S) transport: POST each message to `<base>/v1/sync` of `steme serve` (or the minimal server in sync/http-server.ts). */
import {UserError} from '../../core/errors.js'
import {TransientError, type Transport} from '../../core/transport.js'
import {MAX_MESSAGE} from '../wire.js'

export const SYNC_PATH = '/v1/sync'
export const SYNC_MEDIA_TYPE = 'application/x-steme-sync'

const TOKEN_HINT = 'set STEME_TOKEN (or pass --token) to a token from `steme serve token create --role read|write` on that server (write to push or sync)'
const ENDPOINT_HINT = 'point the remote at the URL `steme serve` prints (e.g. http://host:7070) or at a `steme sync-serve --http` URL'

/** Connection errors that say the URL is wrong, or nothing serves there (before any answer came). */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'])

/**
 * Why fetch refused the request itself, from the error's cause: these recur on every attempt,
 * so they are not retried. Undefined for a failure of the connection.
 */
function refusal(e: unknown, url: URL): {message: string; hint: string} | undefined {
  const cause = (e as {cause?: unknown}).cause
  const msg = cause instanceof Error ? cause.message : ''
  if (msg === 'bad port') return {message: `fetch refuses port ${url.port} (one of the ports browsers and Node block)`, hint: `serve sync on another port, and ${ENDPOINT_HINT}`}
  if (msg.includes('redirect')) return {message: `the request was redirected and fetch refused to follow (${msg})`, hint: ENDPOINT_HINT}
  // Thrown before anything was sent (a header fetch will not send, such as a token with a line
  // break); the value it quotes may be the token, so quoted text is left out.
  if (!cause && e instanceof TypeError) return {message: `fetch refused the request: ${e.message.replace(/"[^"]*"/g, '"…"')}`, hint: 'check the remote URL, and the token in STEME_TOKEN or --token'}
  return undefined
}

/** A steme JSON error body ({error: {message, hint}}), if the response is one. */
async function stemeError(res: Response, type: string): Promise<{message?: string; hint?: string} | undefined> {
  if (type !== 'application/json') return undefined
  try {
    const body = (await res.json()) as {error?: {message?: unknown; hint?: unknown}}
    const err = body?.error
    if (!err || typeof err.message !== 'string') return undefined
    return {message: err.message, hint: typeof err.hint === 'string' ? err.hint : undefined}
  } catch {
    return undefined
  }
}

export function openHttpTransport(remote: string, baseUrl: string, opts: {timeoutMs?: number; headers?: Record<string, string>} = {}): Transport {
  const url = baseUrl.replace(/\/+$/, '') + SYNC_PATH
  // Once the remote has answered, a refused connection means it went away mid-sync (restarted,
  // stopped): worth retrying, unlike a URL where nothing ever served.
  let answered = false
  return {
    remote,
    async request(message) {
      let res: Response
      try {
        res = await fetch(url, {
          method: 'POST',
          body: message,
          // Not followed: the bearer token would go wherever the redirect points.
          redirect: 'manual',
          headers: {'content-type': SYNC_MEDIA_TYPE, accept: SYNC_MEDIA_TYPE, ...opts.headers},
          signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
        })
      } catch (e) {
        const cause = (e as {cause?: {code?: string}}).cause
        const code = cause?.code ?? (e as Error).name
        if (UNREACHABLE.has(code) && !answered) {
          throw new UserError(`remote ${remote}: cannot reach ${baseUrl} (${code})`, {code: 'remote', exit: 1, hint: 'check the URL (`steme remote list`) and that `steme serve` runs there'})
        }
        const refused = refusal(e, new URL(url))
        if (refused) throw new UserError(`remote ${remote}: ${refused.message}`, {code: 'remote', exit: 1, hint: refused.hint, cause: e})
        throw new TransientError(`remote ${remote}: request to ${url} failed (${code})`, {cause: e})
      }
      const type = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase()
      const answer = `${res.status}${type ? ` ${type}` : ''}`
      if (res.status >= 300 && res.status < 400) {
        const to = res.headers.get('location')
        throw new UserError(`remote ${remote}: ${url} redirected${to ? ` to ${to}` : ''} (${res.status}); steme does not follow redirects`, {code: 'remote', exit: 1, hint: to ? 'use the URL it redirects to, if you trust it (the token is sent to that URL)' : ENDPOINT_HINT})
      }
      // A missing, wrong or revoked token is a configuration error (exit 2), as for the --remote commands.
      if (res.status === 401 || res.status === 403) {
        const err = await stemeError(res, type)
        throw new UserError(`remote ${remote}: ${url} refused the request (${res.status})${err?.message ? `: ${err.message}` : ''}`, {code: 'unauthorized', exit: 2, hint: TOKEN_HINT})
      }
      // Not the sync protocol: another kind of server (501/405: it does not take POST; a page; a
      // JSON API). Asking again gets the same answer. A steme serve built without sync says so.
      if (res.status === 501 || res.status === 405 || (res.status === 200 && type !== SYNC_MEDIA_TYPE)) {
        const err = await stemeError(res, type)
        if (err?.message) throw new UserError(`remote ${remote}: ${err.message} (${url} answered ${res.status})`, {code: 'remote', exit: 1, hint: err.hint ?? ENDPOINT_HINT})
        throw new UserError(`remote ${remote}: ${baseUrl} is not a steme sync endpoint (POST ${SYNC_PATH} answered ${answer})`, {code: 'remote', exit: 1, hint: ENDPOINT_HINT})
      }
      if (res.status >= 500 || res.status === 429) throw new TransientError(`remote ${remote}: ${url} answered ${res.status}`)
      if (res.status === 404) throw new UserError(`remote ${remote}: ${url} does not serve sync (404)`, {code: 'remote', exit: 1, hint: 'point the remote at the base URL of `steme serve`, e.g. http://host:7070'})
      if (res.status === 413) throw new UserError(`remote ${remote}: ${url} refused a message as too large`, {code: 'too_large', exit: 1})
      if (res.status !== 200) throw new UserError(`remote ${remote}: ${url} answered ${res.status} ${res.statusText}`, {code: 'remote', exit: 1})
      const len = Number(res.headers.get('content-length') ?? 0)
      if (len > MAX_MESSAGE) throw new UserError(`remote ${remote}: a response of ${len} bytes exceeds the bound of ${MAX_MESSAGE}`, {code: 'too_large', exit: 1})
      const body = new Uint8Array(await res.arrayBuffer())
      if (body.length > MAX_MESSAGE) throw new UserError(`remote ${remote}: a response of ${body.length} bytes exceeds the bound of ${MAX_MESSAGE}`, {code: 'too_large', exit: 1})
      answered = true
      return body
    },
    async close() {},
  }
}
