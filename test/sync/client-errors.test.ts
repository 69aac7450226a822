/** What the client says when the remote answers wrongly: named remote, what to do, nothing stored. */
import {describe, expect, it} from 'vitest'
import type {Transport} from '../../src/core/transport.js'
import {MemoryStore} from '../../src/adapters/memory.js'
import {runSync} from '../../src/sync/client.js'
import {T, encode} from '../../src/sync/wire.js'
import {receiveDeps} from './helpers.js'

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
