/** The daemon: one fastify app over the runtime's deps, with auth, limits, metrics and every /v1 route. */
import {randomBytes} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {createServer as createHttpServer, type RequestListener} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import type {Socket} from 'node:net'
import Fastify, {type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest} from 'fastify'
import rateLimit from '@fastify/rate-limit'
import {initHash} from '../core/hash.js'
import {inputName} from '../core/naming.js'
import {closest} from '../core/words.js'
import {redactUrls} from '../core/redact.js'
import type {Deps} from '../ops/deps.js'
import {startRunner, type ChunkRunner} from '../ops/verify-pool.js'
import type {Mounts, ServeContext} from './context.js'
import {HttpError, REQUEST_ID_HEADER, errorHandler, namingOf, quoteInput, redactTokens} from './errors.js'
import {ObservedStore, type EventOptions} from './events.js'
import {createMetrics, type Metrics} from './metrics.js'
import {MOUNTS} from './mounts.js'
import {adminRoutes} from './routes/admin.js'
import {eventRoutes} from './routes/events.js'
import {mountedRoutes} from './routes/mounted.js'
import {readRoutes} from './routes/read.js'
import {NDJSON_TYPES, recordRoutes} from './routes/records.js'
import {BODY_LIMIT_HEADER} from './client.js'
import {roleAllows, type Principal, type Role, type TokenFile} from './tokens.js'

export interface ServeOptions {
  deps: Deps
  tokens: TokenFile
  /** Tokens that live only as long as the daemon (the local token in state/serve.json), by token text. */
  sessionTokens?: Map<string, Principal>
  /** Largest request body, bytes. */
  bodyLimit?: number
  /** Requests per token (or per address before auth) per minute; 0 turns the limit off. */
  rateLimit?: number
  /** Time allowed to receive a whole request, ms; also how long shutdown waits for requests in flight before dropping them. */
  requestTimeout?: number
  /** Open connections at most (event streams and idle keep-alive ones count); past it a new one is closed unanswered, logged and counted. 0 turns the limit off. */
  maxConnections?: number
  /** How often at most a refused connection is logged, ms (REFUSAL_LOG_MS); the count meanwhile follows. */
  refusalLogMs?: number
  allowAgents?: string[]
  https?: {cert: Buffer; key: Buffer}
  logger?: boolean | {level: string; stream?: NodeJS.WritableStream}
  mounts?: Mounts
  /** Worker threads verifying signatures of posted records (default: one per core). */
  threads?: number
  /** How event streams resume: how long the journal is kept up after the last stream closes, and its bounds. */
  events?: EventOptions
}

/** One registered route: the auth table and the OpenAPI check are derived from these. */
export interface RouteEntry {
  method: string
  url: string
  /** The least role it needs; undefined for the public routes. */
  role?: Role
  /** Its query parameters, as its schema declares them (name to JSON schema). */
  query?: Record<string, {type?: string; minLength?: number; maxLength?: number; minimum?: number; maximum?: number; enum?: unknown[]}>
}

export interface Server {
  app: FastifyInstance
  /** Every route the daemon registered (HEAD twins of GET routes included), in registration order. */
  routes: RouteEntry[]
  ctx: ServeContext
  metrics: Metrics
  /** Stop taking requests, finish the ones in flight and their writes; the caller then closes the runtime. */
  close(): Promise<void>
}

/**
 * maxConnections: well under the 1,024 open files a process gets by default on most systems, so
 * the daemon refuses connections itself (and says so) before accept() fails for want of files,
 * and still far above what a team's CLIs, peers and event streams hold open.
 */
export const DEFAULTS = {bodyLimit: 32 * 1024 * 1024, rateLimit: 60_000, requestTimeout: 30_000, maxConnections: 512}

/** A refused connection is logged at once, then at most once in this long (with the count meanwhile): a flood must not flood the log. */
const REFUSAL_LOG_MS = 10_000

const OPENAPI = new URL('../../docs/openapi.yaml', import.meta.url)

export async function createServer(opts: ServeOptions): Promise<Server> {
  const metrics = createMetrics()
  const observed = new ObservedStore(
    opts.deps.store,
    (n) => {
      metrics.recordsStored.inc(n)
      metrics.totals.stored += n
    },
    opts.events,
  )
  await initHash()
  const bodyLimit = opts.bodyLimit ?? DEFAULTS.bodyLimit
  const requestTimeout = opts.requestTimeout ?? DEFAULTS.requestTimeout
  const maxConnections = opts.maxConnections ?? DEFAULTS.maxConnections
  const refusalLogMs = opts.refusalLogMs ?? REFUSAL_LOG_MS
  let refusedSince = 0
  let lastRefused: string | undefined
  let lastRefusalLog = -Infinity
  // Set while refusals wait for the end of the quiet period: they are logged then, even when no
  // later refusal comes (a burst that ended must not stay at the one line that began it).
  let refusalTimer: NodeJS.Timeout | undefined
  const logRefusals = () => {
    clearTimeout(refusalTimer)
    refusalTimer = undefined
    if (refusedSince === 0) return
    lastRefusalLog = Date.now()
    app.log.warn(
      {remoteAddress: lastRefused, refused: refusedSince, maxConnections},
      `refused ${refusedSince === 1 ? 'a connection' : `${refusedSince} connections`} (the last from ${lastRefused ?? 'an unknown address'}): ${maxConnections} connections are open, the most --max-connections allows; raise it (or [serve] max_connections) if these are clients you serve`,
    )
    refusedSince = 0
  }
  const refused = (remote: string | undefined) => {
    metrics.connectionsRefused.inc()
    metrics.totals.refused++
    refusedSince++
    lastRefused = remote
    const wait = lastRefusalLog + refusalLogMs - Date.now()
    if (wait <= 0) logRefusals()
    else refusalTimer ??= setTimeout(logRefusals, wait).unref()
  }
  // Request ids start with a tag of this run: fastify's own count starts again at req-1 on every
  // start, so an id a client quotes from yesterday's 500 would name another request in the log.
  const run = randomBytes(6).readUIntBE(0, 6).toString(36)
  let requestCount = 0
  // Connections that have not sent a byte of a request yet (a client's spare connection, one left
  // after an aborted event stream): Node counts them as busy, not idle, so closeIdleConnections
  // leaves them, and shutdown waited until the client let go (4 s for Node's fetch) or --timeout.
  const unused = new Set<Socket>()
  // Over TLS, every TCP connection, handshake done or not (see the 'connection' handler).
  const tcp = new Set<Socket>()
  const app = Fastify({
    logger: withRedactedUrls(opts.logger ?? false),
    genReqId: () => `${run}-${++requestCount}`,
    bodyLimit,
    requestTimeout,
    // Node checks request timeouts every connectionsCheckingInterval (30 s by default), so a body
    // stalled with --timeout 3 got its 408 after up to 90 s: check often enough to hold to --timeout.
    serverFactory: (handler: RequestListener) => {
      // Node refuses an HTTP/1.1 request without Host itself, with an empty body: the hook below says so in JSON.
      const o = {requestTimeout, connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(requestTimeout / 4))), requireHostHeader: false}
      const server = opts.https ? createHttpsServer({...opts.https, ...o}, handler) : createHttpServer(o, handler)
      server.keepAliveTimeout = 72_000
      // Past it Node closes a new connection before reading anything (no answer can be sent), and says so only by this event.
      if (maxConnections > 0) server.maxConnections = maxConnections
      server.on('drop', (d?: {remoteAddress?: string}) => refused(d?.remoteAddress))
      server.on('connection', (socket: Socket) => {
        metrics.connectionsOpen.inc()
        socket.once('close', () => metrics.connectionsOpen.dec())
        // Over TLS, Node's HTTP layer sees a connection only once its handshake is done: until
        // then neither closeIdleConnections nor closeAllConnections reaches it, and server.close()
        // waits for it, so a client that connected and never said hello held shutdown for ever.
        if (opts.https) {
          tcp.add(socket)
          socket.once('close', () => tcp.delete(socket))
        }
      })
      // Over TLS, counted on the TLS socket: its bytesRead are of the HTTP text, not the handshake.
      server.on(opts.https ? 'secureConnection' : 'connection', (socket: Socket) => {
        unused.add(socket)
        socket.once('close', () => unused.delete(socket))
      })
      // Node answers Expect: 100-continue before any route: the 100 waits for auth (preParsing below), so a refused upload never starts.
      server.on('checkContinue', (req, res) => handler(req, res))
      server.on('checkExpectation', (req, res) => {
        const expect = String(req.headers.expect).slice(0, 40)
        res.writeHead(417, {'content-type': 'application/json', connection: 'close'})
        res.end(JSON.stringify({error: {code: 'bad_request', message: `Expect: ${expect} is not supported`, hint: 'send Expect: 100-continue, or no Expect header'}}))
      })
      // Without a listener Node drops a CONNECT without a word.
      server.on('connect', (_req, socket: Socket) => {
        const body = JSON.stringify({error: {code: 'method_not_allowed', message: 'CONNECT is not served: steme serve is not a proxy', hint: 'see GET /v1/openapi.yaml'}})
        socket.end(`HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
      })
      return server
    },
    routerOptions: {maxParamLength: 200},
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Only names the scheme in listen()'s URL: serverFactory makes the server.
    https: opts.https ?? null,
    clientErrorHandler: (err: NodeJS.ErrnoException & {reason?: string}, socket: Socket) => clientError(err, socket, requestTimeout),
    // Bad percent-encoding and over-long path parameters are refused by the router, before any route: keep our error shape.
    frameworkErrors: (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => errorHandler(err, req, reply),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance
  // Started once the server is built: TLS options that fail there leave no worker threads running.
  const runner: ChunkRunner = await startRunner(undefined, {
    threads: opts.threads,
    noKeyReason: 'the daemon never signs on anyone\'s behalf: send signed records (`steme ingest --remote` signs plain facts locally)',
  })
  const refusal = (authorization: string | undefined, role: Role): string | undefined => {
    try {
      const p = authenticate(authorization, opts.tokens, opts.sessionTokens)
      return roleAllows(p.role, role) ? undefined : `token ${p.tokenId} has role ${p.role}, not ${role}`
    } catch (e) {
      // An unreadable token file refuses too: fail closed.
      return (e as Error).message
    }
  }
  // Aborted when shutdown drops the connections still open: work they started stops at its next step.
  const stopping = new AbortController()
  const ctx: ServeContext = {deps: opts.deps, observed, metrics, runner, allowAgents: opts.allowAgents, mounts: opts.mounts ?? MOUNTS, maxErrors: 1000, refusal, stopping: stopping.signal}

  // Handlers still running. A handler whose connection was dropped (shutdown's grace period ran out)
  // goes on writing to the store: close() waits for it before the store may be closed under it.
  const working = new Set<Promise<unknown>>()
  app.addHook('onRoute', (r) => {
    const handler = r.handler
    r.handler = function (this: FastifyInstance, req, reply) {
      const out = handler.call(this, req, reply) as unknown
      if (out instanceof Promise) {
        const tracked: Promise<unknown> = out.catch(() => undefined).finally(() => working.delete(tracked))
        working.add(tracked)
      }
      return out
    } as typeof handler
  })

  const routes: RouteEntry[] = []
  app.addHook('onRoute', (r) => {
    const query = (r.schema?.querystring as {properties?: RouteEntry['query']} | undefined)?.properties
    for (const method of [r.method].flat()) routes.push({method, url: r.url, role: r.config?.role, ...(query ? {query} : {})})
  })
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]
    // The path is quoted back: not a token someone put in it.
    const shown = redactTokens(path)
    // A path the daemon serves, asked with another method: 405 with the methods it takes, not 404.
    const allow = [...new Set(routes.map((r) => r.method))].filter((method) => app.findRoute({method, url: path}))
    if (allow.length) {
      void reply
        .status(405)
        .header('allow', allow.join(', '))
        .send({error: {code: 'method_not_allowed', message: `${req.method} is not allowed on ${shown}, which takes ${allow.join(', ')}`, hint: 'see GET /v1/openapi.yaml'}})
      return
    }
    void reply.status(404).send({error: {code: 'not_found', message: `no route ${req.method} ${shown}`, hint: 'see GET /v1/openapi.yaml'}})
  })

  // Bodies stay bytes: ingestOp decodes and parses records itself, line by line, exactly as
  // `steme ingest` does (so a line that is not UTF-8 is rejected, not signed with U+FFFD).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(['application/json', ...NDJSON_TYPES], {parseAs: 'buffer'}, (_req, body, done) => done(null, body))

  // Auth is decided here, but a refusal is only sent once the rate limiter (a route-level
  // onRequest hook, so after this one) has counted the request: requests with a missing or
  // wrong token count against their address, and a guesser gets 429 like anyone else.
  // Every answer names its request, so a client can point at its log lines (a 500's details are only there).
  app.addHook('onRequest', async (req, reply) => {
    void reply.header(REQUEST_ID_HEADER, req.id)
  })
  app.addHook('onRequest', async (req) => {
    if (req.raw.httpVersion === '1.1' && !req.headers.host) throw new HttpError('bad_request', 'an HTTP/1.1 request needs a Host header', 'send Host: <host>:<port>, as HTTP clients do')
  })
  app.addHook('onRequest', async (req) => {
    const need = req.routeOptions.config?.role
    if (!need) return
    // Node keeps the first of several: which token a request meant is not ours to guess.
    let sent = 0
    const raw = req.raw.rawHeaders
    for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === 'authorization') sent++
    if (sent > 1) {
      req.authError = new HttpError('unauthorized', `the request carries ${sent} Authorization headers; send one`, 'send one Authorization: Bearer <token> header')
      return
    }
    try {
      req.principal = authenticate(req.headers.authorization, opts.tokens, opts.sessionTokens, req.url)
    } catch (e) {
      req.authError = e as Error
      return
    }
    if (!roleAllows(req.principal.role, need)) {
      req.authError = new HttpError('forbidden', `this route needs ${need === 'admin' ? 'an' : 'a'} ${need} token; token ${req.principal.tokenId} has role ${req.principal.role}`, 'ask an admin for a token with the right role (`steme serve token create --role ...`)')
    }
  })
  // Before the body is read: a refused request never uploads.
  app.addHook('preParsing', async (req, reply) => {
    if (req.authError) throw req.authError
    // Also before the body: a request the daemon would answer as another question never uploads.
    wellEncodedQuery(req)
    knownParams(req)
    // HTTP/1.0 has no interim answers: its client sent the body already, and would take a 100
    // for the answer (Node, too, passes the Expect of an HTTP/1.0 request on as a plain request).
    if (req.raw.httpVersion !== '1.0' && String(req.headers.expect ?? '').toLowerCase() === '100-continue') reply.raw.writeContinue()
  })

  app.addHook('preValidation', async (req) => {
    finiteNumbers(req)
  })

  // Bodies are read as sent: a compressed one would be judged byte by byte as if it were plain text.
  app.addHook('preParsing', async (req) => {
    const enc = String(req.headers['content-encoding'] ?? '').trim().toLowerCase()
    if (enc && enc !== 'identity') throw new HttpError('unsupported_media_type', `content-encoding ${enc} is not supported`, 'send the body uncompressed (no Content-Encoding header)')
  })

  const limit = opts.rateLimit ?? DEFAULTS.rateLimit
  if (limit > 0) {
    await app.register(rateLimit, {
      max: limit,
      timeWindow: 60_000,
      hook: 'onRequest',
      keyGenerator: (req) => (req.principal ? `t:${req.principal.tokenId}` : `ip:${req.ip}`),
      allowList: (req) => !req.routeOptions.config?.role,
      errorResponseBuilder: (req, c) =>
        Object.assign(new HttpError('rate_limited', `rate limit of ${c.max} requests per minute for this ${req.principal ? 'token' : 'address (requests without a valid token)'} exceeded; retry in ${Math.ceil(c.ttl / 1000)} s`), {statusCode: 429}),
    })
  }

  let closing = false
  app.addHook('onSend', async (_req, reply) => {
    // Clients size their POSTs by it (src/serve/client.ts), rather than learning it from a 413.
    void reply.header(BODY_LIMIT_HEADER, String(bodyLimit))
    if (closing) void reply.header('connection', 'close')
  })

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched'
    metrics.requests.inc({route, method: req.method, status: String(reply.statusCode)})
    metrics.latency.observe({route, method: req.method}, reply.elapsedTime / 1000)
    metrics.totals.requests++
  })

  app.get('/healthz', async () => ({status: 'ok'}))
  app.get('/v1/openapi.yaml', async (_req, reply) => reply.type('application/yaml').send(readFileSync(OPENAPI, 'utf8')))
  app.get('/metrics', {config: {role: 'read', anyQuery: true}}, async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()))
  readRoutes(app, ctx)
  adminRoutes(app, opts.tokens)
  recordRoutes(app, ctx)
  const events = eventRoutes(app, ctx, opts.events?.heartbeatMs)
  await mountedRoutes(app, ctx)
  app.addHook('preClose', async () => events.closeAll())

  let closed: Promise<void> | undefined
  return {
    app,
    routes,
    ctx,
    metrics,
    close: () =>
      (closed ??= (async () => {
        closing = true
        // Keep-alive connections busy when close began would otherwise linger for keepAliveTimeout;
        // connections that never sent a request, until their client closes them. One that has sent
        // part of a request is in flight, and gets the grace period below.
        const dropIdle = () => {
          app.server.closeIdleConnections()
          for (const socket of unused) {
            if (socket.bytesRead === 0) socket.destroy()
            unused.delete(socket)
          }
          // A TLS connection that has not sent a byte of its handshake carries no request either.
          for (const socket of tcp) if (socket.bytesRead === 0) socket.destroy()
        }
        dropIdle()
        const sweep = setInterval(dropIdle, 100)
        // Node stops checking request timeouts once the server closes, so a client that stopped
        // sending a body would hold the store forever: after --timeout, drop what is left.
        const grace = setTimeout(() => {
          app.log.warn('shutdown: dropping connections still open after the grace period (--timeout)')
          stopping.abort()
          app.server.closeAllConnections()
          // TLS connections whose handshake never ended are not among them.
          for (const socket of tcp) socket.destroy()
        }, requestTimeout)
        try {
          await app.close()
        } finally {
          clearInterval(sweep)
          clearTimeout(grace)
          // Refusals not logged yet are, before the log ends.
          logRefusals()
        }
        // Nobody is left to answer, but what a handler stores must be stored whole before the store closes.
        stopping.abort()
        await Promise.all(working)
        await observed.drain()
        await runner.close()
      })()),
  }
}

function authenticate(header: string | undefined, tokens: TokenFile, session?: Map<string, Principal>, url = ''): Principal {
  const hint = 'send Authorization: Bearer <token>; an admin creates tokens with `steme serve token create --role read|write|admin`'
  if (!header) {
    // A token put in the URL is refused, and the client told why: URLs end up in logs, shell
    // histories and proxies, so that token is best replaced.
    if (tokenInQuery(url)) {
      throw new HttpError(
        'unauthorized',
        'this route needs a bearer token in the Authorization header; a token in the query string is not accepted',
        'send Authorization: Bearer <token> (an EventSource cannot: read /v1/events with fetch, or through a proxy that adds the header). A URL is kept in logs, shell histories and proxies: revoke a token that was sent in one (`steme serve token revoke <id>`) and use a new one',
      )
    }
    throw new HttpError('unauthorized', 'this route needs a bearer token', hint)
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (!m) throw new HttpError('unauthorized', 'the Authorization header is not "Bearer <token>"', hint)
  const fromSession = session?.get(m[1])
  if (fromSession) return fromSession
  const res = tokens.check(m[1])
  if ('refused' in res) throw new HttpError('unauthorized', `token refused: ${res.refused}`, hint)
  return res
}

/** Query parameters whose values are secrets by their name. */
const SECRET_PARAM = /token|secret|password|passwd|key|auth/i

/** Whether a URL's query string carries what looks like a token: a parameter named for one, or token text. */
function tokenInQuery(url: string): boolean {
  const q = url.indexOf('?')
  if (q < 0) return false
  const query = url.slice(q + 1)
  if (redactTokens(query) !== query) return true
  return query.split('&').some((pair) => {
    const eq = pair.indexOf('=')
    if (eq <= 0 || eq === pair.length - 1) return false
    let name = pair.slice(0, eq)
    try {
      name = decodeURIComponent(name.replace(/\+/g, ' '))
    } catch {
      // undecodable name: judged as sent
    }
    return credentialName(name)
  })
}

/** Words that name a credential in a query parameter's name. */
const CREDENTIAL_WORDS = new Set(['token', 'auth', 'authorization', 'bearer', 'apikey', 'jwt'])

/**
 * Whether a parameter's name says it carries a credential: `token`, `access_token`, `authToken`,
 * `api-key`... judged word by word, so `author` or `tokenizer` are not taken for one.
 */
function credentialName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
  return words.some((w, i) => CREDENTIAL_WORDS.has(w) || (w === 'api' && words[i + 1] === 'key'))
}

/** A URL as logged: values of secret-named query parameters and any token text replaced by [redacted]. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?')
  let out = url
  if (q >= 0) {
    const query = url
      .slice(q + 1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=')
        if (eq < 0) return pair
        let name = pair.slice(0, eq)
        try {
          name = decodeURIComponent(name.replace(/\+/g, ' '))
        } catch {
          // undecodable name: judged as sent
        }
        return SECRET_PARAM.test(name) ? `${pair.slice(0, eq)}=[redacted]` : pair
      })
      .join('&')
    out = `${url.slice(0, q)}?${query}`
  }
  return redactTokens(out)
}

/** Log text with the secrets a message may quote kept out: URL userinfo and token text. */
const redactLog = (text: string): string => redactTokens(redactUrls(text))

/**
 * An error as the log writes it (pino's shape: type, message, stack, its own plain fields, its
 * cause), its text redacted: what failed may quote a connection URL with its password, or a
 * token. The terminal's lines are made from these entries, so they say no more.
 */
function loggedError(e: unknown, depth = 0): unknown {
  // Error-like, as pino takes it: an error from another realm (a worker) is no instanceof Error.
  if (e === null || typeof e !== 'object' || typeof (e as Error).message !== 'string') return e
  const err = e as Error
  const out: Record<string, unknown> = {type: err.constructor?.name ?? err.name, message: redactLog(err.message), stack: redactLog(String(err.stack ?? ''))}
  for (const [k, v] of Object.entries(e)) {
    if (k in out || k === 'cause') continue
    if (typeof v === 'string') out[k] = redactLog(v)
    else if (typeof v !== 'object' || v === null) out[k] = v
  }
  const cause = (e as {cause?: unknown}).cause
  if (typeof cause === 'string') out.cause = redactLog(cause)
  else if (cause !== undefined && depth < 4) out.cause = loggedError(cause, depth + 1)
  return out
}

/** The logger options with fastify's request serializer, but a redacted URL: a token sent as ?token= never reaches the log; errors redacted too. */
function withRedactedUrls(logger: NonNullable<ServeOptions['logger']>): ServeOptions['logger'] | Record<string, unknown> {
  if (logger === false) return false
  return {
    ...(logger === true ? {} : logger),
    serializers: {
      err: loggedError,
      req: (req: FastifyRequest) => ({
        method: req.method,
        url: redactUrl(req.url),
        version: req.headers?.['accept-version'],
        host: req.host,
        remoteAddress: req.ip,
        remotePort: req.socket?.remotePort,
      }),
    },
  }
}

/**
 * Every query parameter must be one the route declares: ajv's removeAdditional would drop an
 * unknown one unseen, so `limt=5` would be answered as if no limit were given, and a parameter a
 * newer client sends to an older daemon would be answered as another question.
 */
/** The public routes, and /metrics, which monitors call: they read no query, so none is refused. */
const ignoresQuery = (req: FastifyRequest): boolean => !req.routeOptions.config?.role || req.routeOptions.config.anyQuery === true

function knownParams(req: FastifyRequest): void {
  // A path the daemon does not serve: its 404 or 405 says so, whatever the parameters.
  if (req.is404 || !req.query || typeof req.query !== 'object') return
  // The public routes (/healthz, the spec) answer the same whatever is asked: a health probe or
  // a monitor that adds a cache-buster (`?_=1712`) must not see the daemon as down.
  if (ignoresQuery(req)) return
  const known = Object.keys((req.routeOptions.schema?.querystring as {properties?: Record<string, unknown>} | undefined)?.properties ?? {})
  const route = `${req.method} ${req.routeOptions.url ?? ''}`
  for (const name of Object.keys(req.query as Record<string, unknown>)) {
    if (known.includes(name)) continue
    const near = closest(name, known, {max: 1})[0]
    const shown = name === '' ? 'a query parameter with an empty name' : `query parameter ${quoteInput(name)}`
    throw new HttpError(
      'bad_request',
      `${shown} is not one ${route} takes${near ? `; did you mean ${near}?` : ''}`,
      `${known.length ? `it takes ${known.join(', ')}` : 'it takes no query parameters'} (see GET /v1/openapi.yaml); a steme client newer than this daemon may send one it does not know yet: run the same steme version on both sides`,
    )
  }
}

const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/

/**
 * Query parameters the schema types as numbers must be finite decimal numbers: ajv's coercion
 * would turn "1e999" into Infinity and let it through to the ops.
 */
function finiteNumbers(req: FastifyRequest): void {
  const props = (req.routeOptions.schema?.querystring as {properties?: Record<string, {type?: string}>} | undefined)?.properties
  if (!props || !req.query || typeof req.query !== 'object') return
  for (const [k, v] of Object.entries(req.query as Record<string, unknown>)) {
    const type = props[k]?.type
    if (type !== 'number' && type !== 'integer') continue
    // Given more than once: the schema says so.
    if (typeof v === 'string' && (!NUMBER_RE.test(v.trim()) || !Number.isFinite(Number(v)))) {
      throw new HttpError('bad_request', `${inputName(k, namingOf(req))}: ${quoteInput(v)} is not a finite ${type === 'integer' ? 'integer' : 'number'}`, 'send a plain decimal number such as 10 or 0.5')
    }
  }
}

/**
 * A query string's names and values must decode: the parser keeps a stray % or percent-encoded
 * bytes that are not UTF-8 as raw text, so `subject=%FF` would look up the subject "%FF".
 */
function wellEncodedQuery(req: FastifyRequest): void {
  // The public routes (/healthz, the spec) do not read their query, whatever it holds (knownParams).
  if (req.is404 || ignoresQuery(req)) return
  const q = req.url.indexOf('?')
  if (q < 0) return
  for (const pair of req.url.slice(q + 1).split('&')) {
    if (!pair.includes('%')) continue
    const eq = pair.indexOf('=')
    const decode = (s: string): string | undefined => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '))
      } catch {
        return undefined
      }
    }
    const rawName = eq < 0 ? pair : pair.slice(0, eq)
    const name = decode(rawName)
    if (name !== undefined && (eq < 0 || decode(pair.slice(eq + 1)) !== undefined)) continue
    throw new HttpError(
      'bad_request',
      `${name === undefined ? `a query parameter name (${quoteInput(rawName)})` : inputName(name, namingOf(req))} is not valid percent-encoding (a % must be followed by two hex digits, and the bytes must form UTF-8)`,
      'encode each name and value with encodeURIComponent (a % itself is %25)',
    )
  }
}

/** What to do about a request Node's parser refused, by its error code. */
const PARSE_HINTS: Record<string, string> = {
  HPE_INVALID_URL: 'percent-encode spaces, control characters and bytes outside ASCII in the path and query string (encodeURIComponent does)',
  HPE_INVALID_HEADER_TOKEN: 'header names are ASCII words, and header values cannot hold control characters such as NUL, CR or LF',
  HPE_INVALID_METHOD: 'see GET /v1/openapi.yaml for the methods each route takes',
  HPE_UNEXPECTED_CONTENT_LENGTH: "send one Content-Length with the body's size in bytes, or Transfer-Encoding: chunked alone",
  HPE_INVALID_CONTENT_LENGTH: "send one Content-Length with the body's size in bytes, or Transfer-Encoding: chunked alone",
  HPE_INVALID_TRANSFER_ENCODING: "send one Content-Length with the body's size in bytes, or Transfer-Encoding: chunked alone",
  HPE_INVALID_CHUNK_SIZE: "send one Content-Length with the body's size in bytes, or Transfer-Encoding: chunked alone",
}

/** Errors Node raises before a request reaches fastify (headers too large, malformed HTTP): still our JSON shape. */
function clientError(err: NodeJS.ErrnoException & {reason?: string}, socket: Socket, requestTimeout: number): void {
  if (!socket.writable) return void socket.destroy()
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400
  const code = status === 408 ? 'timeout' : 'bad_request'
  // The parser's reason names the part it could not read ("Invalid char in url query"), never the bytes.
  const reason = typeof err.reason === 'string' && err.reason ? `: ${err.reason.charAt(0).toLowerCase()}${err.reason.slice(1)}` : ''
  const message =
    status === 431
      ? 'request line or headers too large (a query string is limited to about 16 KiB)'
      : status === 408
        ? `request not received in time: this daemon takes ${Number((requestTimeout / 1000).toFixed(3))} s (--timeout) to receive a whole request, body included`
        : `malformed HTTP request${reason}`
  const hint =
    status === 400
      ? (PARSE_HINTS[err.code ?? ''] ?? 'send a well-formed HTTP/1.1 request')
      : status === 408
        ? "send the body as one piece without pausing; for larger or slower uploads, split them (steme ingest --remote does) or ask the daemon's operator for a longer --timeout"
        : undefined
  const body = JSON.stringify({error: {code, message, ...(hint ? {hint} : {})}})
  socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
}
