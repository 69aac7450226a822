/** `sync-serve --stdio` refusing a message over the bound: an ERROR answer, a user error, and a store left idle before it closes. */
import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {UserError} from '../../src/core/errors.js'
import {MessageReader} from '../../src/sync/framing.js'
import {createSyncHandler} from '../../src/sync/server.js'
import {serveStreams} from '../../src/sync/stdio-server.js'
import {MAX_MESSAGE, T, decode} from '../../src/sync/wire.js'
import {memoryWith, receiveDeps} from './helpers.js'

describe('sync-serve over streams', () => {
  it('answers a length over the bound with ERROR too_large and ends with a user error (exit 1)', async () => {
    const handler = createSyncHandler({...receiveDeps(await memoryWith([])), soleWriter: true})
    const input = new PassThrough()
    const output = new PassThrough()
    const out: Buffer[] = []
    output.on('data', (d: Buffer) => out.push(d))
    const head = Buffer.alloc(4)
    head.writeUInt32BE(MAX_MESSAGE + 1)
    input.end(head)
    const err = await serveStreams(handler, input, output).then(
      () => undefined,
      (e: unknown) => e,
    )
    await handler.close()
    expect(err).toBeInstanceOf(UserError)
    expect(err).toMatchObject({code: 'too_large', exit: 1})
    const msgs = new MessageReader(true).push(Buffer.concat(out))
    expect(msgs).toHaveLength(1)
    expect(decode(msgs[0])).toEqual([{t: T.Error, code: 'too_large', message: expect.stringContaining(`${MAX_MESSAGE + 1} bytes`)}])
  })

  it('close waits for the view read ahead for the first request before the store may close', async () => {
    const store = await memoryWith([])
    let release!: () => void
    let reading = false
    const real = store.bucketSums.bind(store)
    store.bucketSums = async (a, b) => {
      reading = true
      await new Promise<void>((r) => (release = r))
      reading = false
      return real(a, b)
    }
    const handler = createSyncHandler({...receiveDeps(store), soleWriter: true})
    expect(reading).toBe(true)
    let closed = false
    const closing = handler.close().then(() => (closed = true))
    await new Promise((r) => setTimeout(r, 20))
    expect(closed).toBe(false)
    release()
    await closing
    expect(reading).toBe(false)
  })
})
