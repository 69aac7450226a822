/**
 * A server that holds back (`more`): a store so large that one response cannot offer all it lacks
 * (MAX_OFFER ids, about 200k a pass). Modelled on a small store by a server whose answers keep
 * only a few records and offered ids each and set `more` for the rest, as a real one does.
 */
import {describe, expect, it} from 'vitest'
import type {Transport} from '../../src/core/transport.js'
import {runSync} from '../../src/sync/client.js'
import {createSyncHandler} from '../../src/sync/server.js'
import {loopbackTransport} from '../../src/sync/transports/loopback.js'
import {T, decode, encode, type Frame} from '../../src/sync/wire.js'
import {allIds, makeRecords, memoryWith, receiveDeps} from './helpers.js'

/** `inner`, with each answer cut to `keep` records and `keep` offered ids, `more` set when anything was held back. */
function holdingBack(inner: Transport, keep: number): Transport {
  return {
    remote: inner.remote,
    async request(m) {
      const lines: Uint8Array[] = []
      const frames = decode(await inner.request(m), (line) => lines.push(Uint8Array.from(line)))
      const head = frames[0]
      if (head?.t !== T.Hello) return encode(frames)
      let held = lines.length > keep
      const out: Frame[] = [head]
      let offered = 0
      for (const f of frames.slice(1)) {
        if (f.t !== T.Offer) out.push(f)
        else {
          const ids = f.ids.slice(0, Math.max(0, keep - offered))
          offered += ids.length
          if (ids.length < f.ids.length) held = true
          if (ids.length) out.push({t: T.Offer, ids})
        }
      }
      for (const line of lines.slice(0, keep)) out.push({t: T.Record, line})
      if (held) head.hello.more = true
      return encode(out)
    },
    close: () => inner.close(),
  }
}

describe('a server that holds back records', () => {
  it('is asked again, pass after pass, until nothing is held back: a pull never stops short', async () => {
    const records = await makeRecords(3000, {tag: 'held'})
    const remote = await memoryWith(records)
    const local = await memoryWith([])
    const t = holdingBack(loopbackTransport('big', createSyncHandler(receiveDeps(remote))), 40)
    const s = await runSync(receiveDeps(local), t, {mode: 'pull', threads: 0})
    expect(s.local.added).toBe(3000)
    expect(await allIds(local)).toEqual(await allIds(remote))
  })
})
