/** What the client says when the remote answers wrongly: named remote, what to do, nothing stored. */
import {describe, expect, it} from 'vitest'
import type {Transport} from '../../src/core/transport.js'
import {MemoryStore} from '../../src/adapters/memory.js'
import {runSync} from '../../src/sync/client.js'
import {createSyncHandler} from '../../src/sync/server.js'
import {T, decode, encode} from '../../src/sync/wire.js'
import {makeRecords, memoryWith, receiveDeps} from './helpers.js'

const answering = (reply: Uint8Array): Transport => ({remote: 'origin (ssh://h/x)', request: async () => reply, close: async () => {}})

async function failure(reply: Uint8Array) {
  const local = new MemoryStore()
  const err = await runSync(receiveDeps(local), answering(reply), {mode: 'sync', threads: 0}).then(
    () => undefined,
    (e: Error & {hint?: string; exit?: number}) => e,
  )
  expect((await local.stats()).records).toBe(0)
  return err!
}

describe('remote answers the client cannot use', () => {
  it('a version mismatch', async () => {
    const e = await failure(encode([{t: T.Error, code: 'version', message: 'this peer speaks steme-sync version 2'}]))
    expect(e.message).toMatch(/^origin \(ssh:\/\/h\/x\): this peer speaks steme-sync version 2/)
    expect(e.hint).toMatch(/same steme version/)
    expect(e.exit).toBe(1)
  })

  it('a newer hello', async () => {
    const e = await failure(encode([{t: T.Hello, hello: {proto: 'steme-sync', v: 9, caps: []}}]))
    expect(e.message).toMatch(/speaks steme-sync version 9, this steme speaks version 1/)
  })

  it('garbage, and something that is not steme', async () => {
    expect((await failure(new Uint8Array([0x30, 0x09, 1]))).message).toMatch(/^origin .* sent a bad message: malformed sync message/)
    expect((await failure(encode([{t: T.Record, line: '{}'}]))).message).toMatch(/did not answer with a steme-sync hello/)
  })

  it('a read-only remote refusing a push', async () => {
    const e = await failure(encode([{t: T.Error, code: 'forbidden', message: 'this peer serves read-only: pull only'}]))
    expect(e.message).toMatch(/refused: this peer serves read-only/)
    expect(e.hint).toMatch(/pull instead/)
  })
})

describe('a remote that makes no progress', () => {
  it('fails with an error naming the remote instead of resending until the round cap', async () => {
    const local = await memoryWith(await makeRecords(50))
    let requests = 0
    // A scripted peer: a valid hello that says it handled none of the range frames, every time.
    const stuck: Transport = {
      remote: 'origin (ssh://h/x)',
      request: async () => {
        requests++
        return encode([{t: T.Hello, hello: {proto: 'steme-sync', v: 1, caps: [], handled: 0, records: 0, root: '0'.repeat(32)}}])
      },
      close: async () => {},
    }
    const e = await runSync(receiveDeps(local), stuck, {mode: 'pull', threads: 0}).then(
      () => undefined,
      (x: Error & {hint?: string; exit?: number}) => x,
    )
    expect(e?.message).toMatch(/^origin \(ssh:\/\/h\/x\) answered 3 requests in a row without handling any of their range frames/)
    expect(e?.hint).toMatch(/broken or not steme/)
    expect(e?.exit).toBe(1)
    expect(requests).toBe(3)
  })
})

describe("errors about the remote's store", () => {
  const damaged = 'the store file is damaged, and steme cannot read it: Corrupt database file: computed checksum 1 does not match 2'

  it('a damaged remote store is named as such, with the restore hint, never "internal"', async () => {
    for (const frame of [
      {t: T.Error, code: 'integrity', message: damaged},
      // What a server before this fix answered.
      {t: T.Error, code: 'internal', message: 'the remote failed: IO Error: Could not read enough bytes from file "x.duckdb"'},
    ] as const) {
      const e = await failure(encode([frame]))
      expect(e.message).toMatch(/^remote origin \(ssh:\/\/h\/x\): its store file is damaged, and steme cannot read it: (Corrupt database file|Could not read enough bytes)/)
      expect(e.message).not.toMatch(/internal/)
      expect(e.hint).toMatch(/restore the remote's store\.duckdb from a backup/)
      expect(e.exit).toBe(1)
    }
  })

  it('a busy or missing remote store gets a hint for the remote, not for --store, STEME_STORE or --remote', async () => {
    const busy = await failure(encode([{t: T.Error, code: 'locked', message: 'the store /srv/x is in use by another steme process'}]))
    expect(busy.hint).toMatch(/the remote store is busy/)
    const none = await failure(encode([{t: T.Error, code: 'no_store', message: 'no store at /srv/x'}]))
    expect(none.hint).toMatch(/check the remote path/)
    for (const e of [busy, none]) expect(e.hint).not.toMatch(/--store|STEME_STORE|--remote/)
  })

  it('a server whose store cannot be read answers integrity, not internal', async () => {
    const broken = new Proxy(new MemoryStore(), {
      get: (target, prop, recv) => {
        const v = Reflect.get(target, prop, recv)
        return typeof v === 'function'
          ? () => {
              throw new Error('IO Error: Could not read enough bytes from file "store.duckdb": attempted to read 262144 bytes')
            }
          : v
      },
    })
    const handler = createSyncHandler({...receiveDeps(broken)})
    const [head] = decode(await handler.handle(encode([{t: T.Hello, hello: {proto: 'steme-sync', v: 1, caps: [], mode: 'pull'}}])))
    expect(head).toMatchObject({t: T.Error, code: 'integrity'})
    expect((head as {message: string}).message).toMatch(/^the store file is damaged/)
  })
})
