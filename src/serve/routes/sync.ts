/** POST /v1/sync: the sync protocol's handler (src/sync/server.ts) behind the daemon's auth; read tokens may pull, write tokens may also push. */
import type {FastifyInstance} from 'fastify'
import type {Received} from '../../sync/receive.js'
import {createSyncHandler} from '../../sync/server.js'
import {SYNC_MEDIA_TYPE, SYNC_PATH} from '../../sync/transports/http.js'
import {MAX_MESSAGE} from '../../sync/wire.js'
import type {ServeContext} from '../context.js'
import {HttpError, mediaType} from '../errors.js'
import {countRejected} from '../metrics.js'
import {roleAllows} from '../tokens.js'

/** A peer counts as syncing for this long after its last sync request (the protocol is request/response, without sessions). */
const PEER_WINDOW_MS = 10_000

export function syncRoutes(app: FastifyInstance, ctx: ServeContext): void {
  // Pushed records go through the observed store, so /v1/events and the metrics see them too,
  // and through the same agent allowlist as POST /v1/records; the ones refused are counted as its are.
  const deps = {
    store: ctx.observed.forRequest(false).store,
    clock: ctx.deps.clock,
    saveClock: () => ctx.deps.saveClock(),
    skewMs: ctx.deps.config.skewSeconds * 1000,
    allowAgents: ctx.allowAgents,
    onReceived: (r: Received) => countRejected(ctx.metrics, r.rejected),
  }
  const full = createSyncHandler(deps)
  const pullOnly = createSyncHandler({...deps, readOnly: true})
  const peers = new Map<string, number>()
  const countPeers = () => {
    const now = Date.now()
    for (const [p, t] of peers) if (now - t > PEER_WINDOW_MS) peers.delete(p)
    ctx.metrics.syncActive.set(peers.size)
    ctx.metrics.totals.syncing = peers.size
  }
  const sweep = setInterval(countPeers, 1000)
  sweep.unref()
  app.addContentTypeParser(SYNC_MEDIA_TYPE, {parseAs: 'buffer', bodyLimit: MAX_MESSAGE}, (_req, body, done) => done(null, body))
  app.post<{Body: Buffer}>(SYNC_PATH, {config: {role: 'read'}, bodyLimit: MAX_MESSAGE}, async (req, reply) => {
    const type = mediaType(req)
    if (type !== SYNC_MEDIA_TYPE || !Buffer.isBuffer(req.body)) throw new HttpError('unsupported_media_type', `a sync message is sent as ${SYNC_MEDIA_TYPE}`, 'use `steme pull|push|sync <this URL>`')
    const canPush = roleAllows(req.principal!.role, 'write')
    const peer = req.principal!.tokenId
    if (!peers.has(peer)) ctx.metrics.syncSessions.inc({direction: canPush ? 'both' : 'pull'})
    peers.set(peer, Date.now())
    countPeers()
    const out = await (canPush ? full : pullOnly).handle(new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength))
    return reply.type(SYNC_MEDIA_TYPE).send(Buffer.from(out.buffer, out.byteOffset, out.byteLength))
  })
  app.addHook('onClose', async () => {
    clearInterval(sweep)
    await Promise.all([full.close(), pullOnly.close()])
  })
}
