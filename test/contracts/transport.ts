/** The contract every sync transport passes: call transportContract with a setup that serves a store holding `seed`. */
import {afterEach, describe, expect, it} from 'vitest'
import type {Sealed} from '../../src/core/seal.js'
import type {Transport} from '../../src/core/transport.js'
import {MemoryStore} from '../../src/adapters/memory.js'
import {runSync} from '../../src/sync/client.js'
import {MAX_MESSAGE, T, VERSION, PROTOCOL, decode, encode} from '../../src/sync/wire.js'
import {allIds, makeRecords, receiveDeps, root} from '../sync/helpers.js'

export interface TransportFixture {
  /** A transport to a remote store that holds `seed` (and is otherwise empty). */
  transport: Transport
  teardown(): Promise<void>
}

export function transportContract(name: string, setup: (seed: readonly Sealed[]) => Promise<TransportFixture>): void {
  describe(`Transport contract: ${name}`, () => {
    let fx: TransportFixture | undefined
    afterEach(async () => {
      await fx?.teardown()
      fx = undefined
    })

    const sync = (local: MemoryStore, mode: 'pull' | 'push' | 'sync') => runSync(receiveDeps(local), fx!.transport, {mode, threads: 1, retry: {retries: 0, baseMs: 1, maxMs: 1}})

    it('pulls everything into an empty store, then settles in one round trip', async () => {
      const seed = await makeRecords(1500, {tag: 'pull'})
      fx = await setup(seed)
      const local = new MemoryStore()
      const s = await sync(local, 'pull')
      expect(s.local.added).toBe(1500)
      expect(await allIds(local)).toEqual(seed.map((r) => r.record.id).sort())
      expect(s.remoteRoot).toEqual(await root(local))
      const again = await sync(local, 'pull')
      expect(again.rounds).toBe(1)
      expect(again.received).toBe(0)
    })

    it('syncs both ways to equal root fingerprints', async () => {
      const shared = await makeRecords(400, {tag: 'shared'})
      const theirs = await makeRecords(150, {tag: 'theirs', endAgoMs: 3_600_000})
      const mine = await makeRecords(120, {tag: 'mine', endAgoMs: 7_200_000})
      fx = await setup([...shared, ...theirs])
      const local = new MemoryStore()
      await local.insert([...shared, ...mine])
      const s = await sync(local, 'sync')
      expect(s.local.added).toBe(150)
      expect(s.remoteResult.added).toBe(120)
      expect(s.remoteRoot).toEqual(await root(local))
      expect(s.localRoot.count).toBe(670)
    })

    it('pushes what the remote lacks, and nothing in pull mode', async () => {
      fx = await setup([])
      const local = new MemoryStore()
      await local.insert(await makeRecords(300, {tag: 'push'}))
      const pulled = await sync(local, 'pull')
      expect(pulled.sent).toBe(0)
      expect(pulled.remoteRoot?.count).toBe(0)
      const pushed = await sync(local, 'push')
      expect(pushed.remoteResult.added).toBe(300)
      expect(pushed.remoteRoot).toEqual(await root(local))
    })

    it('never stores a tampered record, and keeps the good ones', async () => {
      const good = await makeRecords(50, {tag: 'good'})
      const [victim] = await makeRecords(1, {tag: 'victim'})
      // Same id and signature, different content: what a lying or corrupted peer would serve.
      const tampered: Sealed = {record: {...victim.record, value: 'forged'} as never, canonical: victim.canonical.replace(/"value":0/, '"value":"forged"')}
      fx = await setup([...good, tampered])
      const local = new MemoryStore()
      const s = await sync(local, 'pull')
      expect(s.local.rejected).toBe(1)
      expect(s.errors[0].reason).toMatch(/^id:/)
      expect(s.local.added).toBe(50)
      expect(await local.has([victim.record.id])).toEqual(new Set())
    })

    it('answers a newer protocol version with a version error, and garbage with a malformed error', async () => {
      fx = await setup([])
      const v2 = decode(await fx.transport.request(encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION + 1, caps: []}}])))
      expect(v2[0]).toMatchObject({t: T.Error, code: 'version'})
      const junk = decode(await fx.transport.request(new Uint8Array([0x10, 0x05, 1, 2])))
      expect(junk[0]).toMatchObject({t: T.Error, code: 'malformed'})
    })

    it('refuses an oversized message: an error frame, or an error naming the remote', async () => {
      fx = await setup([])
      const huge = new Uint8Array(MAX_MESSAGE + 1024)
      const outcome = await fx.transport.request(huge).then(
        (r) => decode(r)[0],
        (e: Error) => e,
      )
      if (outcome instanceof Error) expect(outcome.message).toContain(fx.transport.remote)
      else expect(outcome).toMatchObject({t: T.Error, code: 'too_large'})
    })
  })
}
