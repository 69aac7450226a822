/** A server that keeps inventing differences cannot keep the client going round: it stops with an error naming the peer, keeping what it stored. */
import {describe, expect, it} from 'vitest'
import type {Transport} from '../../src/core/transport.js'
import {MAX_BUCKET} from '../../src/core/bucket.js'
import {MAX_IDLE_ROUNDS, runSync} from '../../src/sync/client.js'
import {createSyncHandler} from '../../src/sync/server.js'
import {T, decode, encode, type Frame} from '../../src/sync/wire.js'
import {allIds, makeRecords, memoryWith, receiveDeps} from './helpers.js'
import {MemoryStore} from '../../src/adapters/memory.js'

/**
 * An honest server over `remote`, except that every response also claims, for the whole id
 * space, one record more than the client holds, under a fingerprint that never matches.
 */
function inventing(remote: MemoryStore, counter: {requests: number}): Transport {
  const handler = createSyncHandler(receiveDeps(remote))
  return {
    remote: 'origin (https://h/x)',
    request: async (req) => {
      counter.requests++
      const frames = decode(await handler.handle(new Uint8Array(req)))
      const bogus: Frame = {t: T.Fp, range: {a: 0, b: MAX_BUCKET, bits: 0, prefix: 0}, count: 1_000_000 + counter.requests, hash: new Uint8Array(16).fill(counter.requests % 256)}
      return encode([...frames, bogus])
    },
    close: () => handler.close(),
  }
}

describe('a remote that invents differences for ever', () => {
  for (const mode of ['pull', 'sync'] as const) {
    it(`${mode}: stops after MAX_IDLE_ROUNDS rounds without a record moving, with an error naming the remote, keeping what it stored`, async () => {
      const theirs = await makeRecords(300, {tag: 'theirs'})
      const ours = await makeRecords(40, {tag: 'ours'})
      const remote = await memoryWith(theirs)
      const local = await memoryWith(ours)
      const counter = {requests: 0}
      const t = inventing(remote, counter)
      const e = await runSync(receiveDeps(local), t, {mode, threads: 0}).then(
        () => undefined,
        (x: Error & {hint?: string; exit?: number; code?: string}) => x,
      )
      await t.close()
      expect(e?.message).toBe(`origin (https://h/x) went on answering with differences for ${MAX_IDLE_ROUNDS} rounds in a row without a record moving either way: the sync made no progress`)
      expect(e?.exit).toBe(1)
      expect(e?.code).toBe('remote')
      expect(e?.hint).toMatch(/not an honest steme sync server/)
      expect(e?.hint).toContain('the 300 record(s) this run received were verified and are kept')
      // The honest part of the answers moved everything in the first rounds; the rest were idle.
      expect(counter.requests).toBeLessThanOrEqual(MAX_IDLE_ROUNDS + 8)
      expect(await allIds(local)).toEqual((await allIds(await memoryWith([...theirs, ...ours]))))
      if (mode === 'sync') expect((await remote.stats()).records).toBe(340)
    })
  }
})
