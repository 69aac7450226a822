/** A minimal HTTP endpoint for sync (POST /v1/sync), for tests and `sync-serve --http`; `steme serve` mounts the same handler. */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {SyncHandler} from './server.js'
import {SYNC_MEDIA_TYPE, SYNC_PATH} from './transports/http.js'
import {MAX_MESSAGE} from './wire.js'

/** Read a request body up to the message bound; undefined when it is larger. */
export async function readBody(req: IncomingMessage, limit = MAX_MESSAGE): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length
    if (size > limit) return undefined
    chunks.push(c)
  }
  return new Uint8Array(Buffer.concat(chunks))
}

/** A node:http request listener serving sync; anything else is 404. */
export function syncRequestListener(handler: SyncHandler) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.split('?')[0] !== SYNC_PATH) {
      res.writeHead(404, {'content-type': 'text/plain'}).end('not found: steme serves sync at POST /v1/sync\n')
      return
    }
    if (req.method !== 'POST') {
      res.writeHead(405, {allow: 'POST', 'content-type': 'text/plain'}).end('use POST\n')
      return
    }
    try {
      const body = await readBody(req)
      if (!body) {
        res.writeHead(413, {'content-type': 'text/plain', connection: 'close'}).end(`a sync message is at most ${MAX_MESSAGE} bytes\n`)
        req.destroy()
        return
      }
      const out = await handler.handle(body)
      res.writeHead(200, {'content-type': SYNC_MEDIA_TYPE, 'content-length': out.length}).end(out)
    } catch (e) {
      res.writeHead(500, {'content-type': 'text/plain'}).end(`sync failed: ${(e as Error).message}\n`)
    }
  }
}

export async function startSyncHttpServer(handler: SyncHandler, port = 0, host = '127.0.0.1'): Promise<{server: Server; url: string; close(): Promise<void>}> {
  const server = createServer(syncRequestListener(handler))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => resolve())
  })
  const addr = server.address() as {port: number}
  return {
    server,
    url: `http://${host}:${addr.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
