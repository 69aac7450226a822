/** The HTTP(S) transport: POST each message to `<base>/v1/sync` of `steme serve` (or the minimal server in sync/http-server.ts). */
import {UserError} from '../../core/errors.js'
import {TransientError, type Transport} from '../../core/transport.js'
import {MAX_MESSAGE} from '../wire.js'

export const SYNC_PATH = '/v1/sync'
export const SYNC_MEDIA_TYPE = 'application/x-steme-sync'

export function openHttpTransport(remote: string, baseUrl: string, opts: {timeoutMs?: number; headers?: Record<string, string>} = {}): Transport {
  const url = baseUrl.replace(/\/+$/, '') + SYNC_PATH
  return {
    remote,
    async request(message) {
      let res: Response
      try {
        res = await fetch(url, {
          method: 'POST',
          body: message,
          headers: {'content-type': SYNC_MEDIA_TYPE, accept: SYNC_MEDIA_TYPE, ...opts.headers},
          signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000),
        })
      } catch (e) {
        const cause = (e as {cause?: {code?: string}}).cause
        const code = cause?.code ?? (e as Error).name
        if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH') {
          throw new UserError(`remote ${remote}: cannot reach ${baseUrl} (${code})`, {code: 'remote', exit: 1, hint: 'check the URL (`steme remote list`) and that `steme serve` runs there'})
        }
        throw new TransientError(`remote ${remote}: request to ${url} failed (${code})`, {cause: e})
      }
      if (res.status >= 500 || res.status === 429) throw new TransientError(`remote ${remote}: ${url} answered ${res.status}`)
      if (res.status === 404) throw new UserError(`remote ${remote}: ${url} does not serve sync (404)`, {code: 'remote', exit: 1, hint: 'point the remote at the base URL of `steme serve`, e.g. http://host:7070'})
      if (res.status === 401 || res.status === 403) throw new UserError(`remote ${remote}: ${url} refused the request (${res.status})`, {code: 'unauthorized', exit: 1, hint: 'check your access to that server'})
      if (res.status === 413) throw new UserError(`remote ${remote}: ${url} refused a message as too large`, {code: 'too_large', exit: 1})
      if (res.status !== 200) throw new UserError(`remote ${remote}: ${url} answered ${res.status} ${res.statusText}`, {code: 'remote', exit: 1})
      const len = Number(res.headers.get('content-length') ?? 0)
      if (len > MAX_MESSAGE) throw new UserError(`remote ${remote}: a response of ${len} bytes exceeds the bound of ${MAX_MESSAGE}`, {code: 'too_large', exit: 1})
      const body = new Uint8Array(await res.arrayBuffer())
      if (body.length > MAX_MESSAGE) throw new UserError(`remote ${remote}: a response of ${body.length} bytes exceeds the bound of ${MAX_MESSAGE}`, {code: 'too_large', exit: 1})
      return body
    },
    async close() {},
  }
}
