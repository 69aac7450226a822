/** A sync server that goes away mid-sync: its refused reconnects and cut-off answers are retried, and the failure says what was kept. */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {TransientError, TransportError, type Transport} from '../../src/core/transport.js'
import {runSync} from '../../src/sync/client.js'
import {syncRequestListener} from '../../src/sync/http-server.js'
import {createSyncHandler} from '../../src/sync/server.js'
import {openHttpTransport} from '../../src/sync/transports/http.js'
import {loopbackTransport} from '../../src/sync/transports/loopback.js'
import {allIds, makeRecords, memoryWith, receiveDeps, root} from './helpers.js'

const noWait = {retries: 2, baseMs: 1, maxMs: 1, sleep: async () => {}}

describe('a server that goes away', () => {
  it('before it ever answered: cannot reach (not retried); after: a transient failure (retried)', async () => {
    const srv: Server = createServer(syncRequestListener(createSyncHandler(receiveDeps(new MemoryStore()))))
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`
    const spare = createServer()
    await new Promise<void>((r) => spare.listen(0, '127.0.0.1', r))
    const nothing = `http://127.0.0.1:${(spare.address() as AddressInfo).port}`
    await new Promise((r) => spare.close(r))
    const fresh = openHttpTransport('never', nothing)
    await expect(fresh.request(new Uint8Array(0))).rejects.toThrow(/cannot reach .*ECONNREFUSED/)

    const t = openHttpTransport('peer', url)
    const {encode, T} = await import('../../src/sync/wire.js')
    const hello = encode([{t: T.Hello, hello: {proto: 'steme-sync', v: 1, caps: [], mode: 'pull'}}])
    await t.request(hello)
    srv.closeAllConnections()
    await new Promise((r) => srv.close(r))
    const e = await t.request(hello).catch((x: Error) => x)
    expect(e).toBeInstanceOf(TransientError)
    expect((e as Error).message).toMatch(/ECONNREFUSED/)
  })

  it('when the retries are spent, the hint says how many records were received and kept', async () => {
    // Both sides hold records of the same days: the pull takes a few rounds, and the first brings records.
    const both = await makeRecords(2000, {tag: 'both'})
    const remote = await memoryWith([...(await makeRecords(2000, {tag: 'there'})), ...both])
    const inner = loopbackTransport('peer', createSyncHandler(receiveDeps(remote)))
    let n = 0
    const flaky: Transport = {
      remote: 'peer',
      request: async (m) => {
        if (++n > 1) throw new TransientError('remote peer: request failed (ECONNREFUSED)')
        return inner.request(m)
      },
      close: () => inner.close(),
    }
    const local = await memoryWith(both)
    const before = (await local.stats()).records
    const e = (await runSync(receiveDeps(local), flaky, {mode: 'pull', threads: 0, retry: noWait}).catch((x: Error) => x)) as TransportError
    expect(e).toBeInstanceOf(TransportError)
    const kept = (await local.stats()).records - before
    expect(kept).toBeGreaterThan(0)
    expect(e.hint).toContain(`the ${kept.toLocaleString('en-US')} record${kept === 1 ? '' : 's'} received are kept`)
    expect(e.message).toMatch(/gave up after 3 attempts/)
  })

  it('a push whose retries are spent says how many records the remote stored, not how many were received', async () => {
    // 30k records to push: several requests of records, the transport gives out after the second.
    const remote = await memoryWith([])
    const inner = loopbackTransport('peer', createSyncHandler(receiveDeps(remote)))
    let n = 0
    const flaky: Transport = {
      remote: 'peer',
      request: async (m) => {
        if (++n > 2) throw new TransientError('remote peer: request failed (ECONNREFUSED)')
        return inner.request(m)
      },
      close: () => inner.close(),
    }
    const local = await memoryWith(await makeRecords(30_000, {tag: 'push'}))
    const e = (await runSync(receiveDeps(local), flaky, {mode: 'push', threads: 0, retry: noWait}).catch((x: Error) => x)) as TransportError
    expect(e).toBeInstanceOf(TransportError)
    const stored = (await remote.stats()).records
    expect(stored).toBeGreaterThan(0)
    expect(stored).toBeLessThan(30_000)
    expect(e.hint).toContain(`the ${stored.toLocaleString('en-US')} records the remote stored are kept there`)
    expect(e.hint).not.toMatch(/received/)
  })

  it('an answer cut off mid-body is a transient failure: the request goes again and the sync completes', async () => {
    const remote = await memoryWith(await makeRecords(300, {tag: 'cut'}))
    const handler = createSyncHandler(receiveDeps(remote))
    const serve = syncRequestListener(handler)
    let requests = 0
    // The first answer (the records: the local store is empty) stops halfway, and the connection closes.
    const srv: Server = createServer(async (req, res) => {
      if (++requests !== 1) return serve(req, res)
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      const out = await handler.handle(new Uint8Array(Buffer.concat(chunks)))
      res.writeHead(200, {'content-type': 'application/x-steme-sync', 'content-length': out.length})
      res.write(out.subarray(0, out.length >> 1), () => res.socket?.destroy())
    })
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    const t = openHttpTransport('peer', `http://127.0.0.1:${(srv.address() as AddressInfo).port}`)
    const retries: string[] = []
    const local = new MemoryStore()
    try {
      const s = await runSync(receiveDeps(local), t, {mode: 'pull', threads: 0, retry: {...noWait, onRetry: (_n, _ms, e) => retries.push(e.message)}})
      expect(retries).toEqual([expect.stringMatching(/^remote peer: http:\/\/127\.0\.0\.1:\d+\/v1\/sync: the connection closed before the whole answer came$/)])
      expect(requests).toBeGreaterThan(1)
      expect(s.local.added).toBe(300)
      expect(await allIds(local)).toEqual(await allIds(remote))
      expect(await root(local)).toEqual(await root(remote))
    } finally {
      await t.close()
      srv.closeAllConnections()
      await new Promise((r) => srv.close(r))
    }
  })
})
