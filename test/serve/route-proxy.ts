/** A proxy in front of a real daemon that plays an older daemon on one route, for the clients' fallbacks. */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface RouteProxy {
  url: string
  /** The query strings of the requests to the route it passed on, as the client sent them. */
  asked: URLSearchParams[]
  close(): Promise<void>
}

export interface Olden {
  /** Whether it plays the older daemon for a request arriving now. */
  active(): boolean
  /** The request as the older daemon takes it (parameters it did not know dropped, say). */
  request(u: URL): void
  /** A successful JSON answer as the older daemon gave it. */
  answer(page: Record<string, unknown>): void
}

/** Notes the requests to `route` and, while `old.active()`, rewrites them and their answers; every other request passes as it is. */
export async function routeProxy(upstream: string, route: string, old: Olden): Promise<RouteProxy> {
  const asked: URLSearchParams[] = []
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url!, upstream)
    const onRoute = u.pathname === route
    const olden = onRoute && old.active()
    if (onRoute) asked.push(new URLSearchParams(u.searchParams))
    if (olden) old.request(u)
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host') headers[k] = v
    fetch(u, {method: req.method, headers})
      .then(async (up) => {
        let body = await up.text()
        if (olden && up.ok) {
          const page = JSON.parse(body) as Record<string, unknown>
          old.answer(page)
          body = JSON.stringify(page)
        }
        res.writeHead(up.status, {'content-type': up.headers.get('content-type') ?? 'application/json'})
        res.end(body)
      })
      .catch((e: Error) => {
        res.writeHead(502)
        res.end(e.message)
      })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    asked,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}
