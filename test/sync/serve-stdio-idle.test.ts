/**
 * `sync-serve --stdio`'s idle timeout over streams: a peer that sends nothing, or takes none of an
 * answer, ends serving; a peer that keeps making progress, and the server's own slow work, do not.
 */
import {PassThrough, Writable} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {MessageReader, frameMessage} from '../../src/sync/framing.js'
import {opening} from '../../src/sync/reconcile.js'
import {CAPS, createSyncHandler, type SyncHandler} from '../../src/sync/server.js'
import {IDLE_EXIT, IdleTimeout, StoreLease, serveStreams} from '../../src/sync/stdio-server.js'
import {openRuntime} from '../../src/runtime.js'
import {LocalView} from '../../src/sync/view.js'
import {PROTOCOL, T, VERSION, decode, encode} from '../../src/sync/wire.js'
import {makeRecords, memoryWith, receiveDeps} from './helpers.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const hello = (mode: 'pull' | 'push' = 'pull') => ({t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, mode}}) as const

/** A pull's opening request from an empty store: the answer carries records, up to the message budget. */
async function pullEverything(): Promise<Uint8Array> {
  return encode([hello(), ...(await opening(await LocalView.load(new MemoryStore())))])
}

/** Collects what the server writes, and hands over each message as it completes. */
function collector() {
  const reader = new MessageReader(true)
  const msgs: Uint8Array[] = []
  const out = new PassThrough()
  out.on('data', (d: Buffer) => msgs.push(...reader.push(d)))
  return {out, msgs}
}

describe('sync-serve --stdio idle timeout', () => {
  it('a peer that sends nothing ends serving with IdleTimeout (exit 1), and the input is dropped', async () => {
    const handler = createSyncHandler({...receiveDeps(await memoryWith([])), soleWriter: true})
    const input = new PassThrough()
    const {out} = collector()
    const err = await serveStreams(handler, input, out, {idleMs: 50}).then(
      () => undefined,
      (e: unknown) => e,
    )
    await handler.close()
    expect(err).toBeInstanceOf(IdleTimeout)
    expect(err).toMatchObject({code: 'remote', exit: 1, message: expect.stringMatching(/^sync-serve: no request from the client for 0\.05 s \(--idle-timeout\)/)})
    expect(`error: ${(err as Error).message}`).toMatch(IDLE_EXIT)
    expect(input.destroyed).toBe(true)
  })

  it('a peer silent after its first request is cut off in the same way, once answered', async () => {
    const handler = createSyncHandler({...receiveDeps(await memoryWith([])), soleWriter: true})
    const input = new PassThrough()
    const {out, msgs} = collector()
    input.write(frameMessage(encode([hello()])))
    const err = await serveStreams(handler, input, out, {idleMs: 50}).catch((e: unknown) => e)
    await handler.close()
    expect(msgs).toHaveLength(1)
    expect(decode(msgs[0])[0]).toMatchObject({t: T.Hello})
    expect(err).toBeInstanceOf(IdleTimeout)
  })

  it('a peer that takes none of an answer ends serving, though the write never completes', async () => {
    const handler = createSyncHandler({...receiveDeps(await memoryWith(await makeRecords(50))), soleWriter: true})
    const input = new PassThrough()
    let taken = 0
    // A pipe whose reader is gone: the first write is held and never completes.
    const stuck = new Writable({
      highWaterMark: 1,
      write(_chunk, _enc, cb) {
        if (taken++ === 0) cb()
      },
    })
    input.write(frameMessage(await pullEverything()))
    const err = await serveStreams(handler, input, stuck, {idleMs: 50}).catch((e: unknown) => e)
    await handler.close()
    expect(err).toBeInstanceOf(IdleTimeout)
    expect((err as Error).message).toMatch(/^sync-serve: the client took none of the answer for 0\.05 s/)
    expect(`error: ${(err as Error).message}`).toMatch(IDLE_EXIT)
  })

  it('never cuts a peer that keeps making progress: requests spaced under the timeout, a slow reader taking a large answer piece by piece, slow work of its own', async () => {
    const store = await memoryWith(await makeRecords(9000))
    const real = createSyncHandler({...receiveDeps(store), soleWriter: true})
    // The server's own work (storing a big push, a cold read) may take longer than the timeout.
    let slow = false
    const handler: SyncHandler = {
      handle: async (m) => {
        if (slow) await sleep(1200)
        return real.handle(m)
      },
      close: () => real.close(),
    }
    const input = new PassThrough()
    const reader = new MessageReader(true)
    const msgs: Uint8Array[] = []
    let bytes = 0
    // A slow link: 180 ms a MiB, so a 3 MiB answer takes longer than the timeout, each MiB less.
    // (The timeout is 400 ms, not less: requests 40 ms apart must stay well inside it on a loaded machine.)
    const take = (chunk: Buffer) =>
      new Promise<void>((resolve) =>
        setTimeout(
          () => {
            bytes += chunk.length
            msgs.push(...reader.push(chunk))
            resolve()
          },
          5 + Math.ceil((180 * chunk.length) / (1 << 20)),
        ),
      )
    const slowReader = new Writable({
      write(chunk: Buffer, _enc, cb) {
        void take(chunk).then(() => cb())
      },
      // As a pipe or socket (process.stdout) takes them: every write queued behind a busy one in a
      // single writev, with one callback when the whole batch has gone.
      writev(chunks, cb) {
        void chunks.reduce((p, c) => p.then(() => take(c.chunk as Buffer)), Promise.resolve()).then(() => cb())
      },
    })
    const serving = serveStreams(handler, input, slowReader, {idleMs: 400})
    let failed: unknown
    serving.catch((e: unknown) => (failed = e))
    const answered = async (n: number) => {
      while (msgs.length < n) {
        if (failed) throw failed
        await sleep(5)
      }
    }
    input.write(frameMessage(await pullEverything()))
    await answered(1)
    expect(bytes).toBeGreaterThan(2 * (1 << 20))
    expect(decode(msgs[0]).filter((f) => f.t === T.Record).length).toBeGreaterThan(1000)
    for (let i = 0; i < 5; i++) {
      await sleep(40)
      input.write(frameMessage(encode([hello()])))
      await answered(2 + i)
    }
    slow = true
    input.write(frameMessage(encode([hello()])))
    await answered(7)
    input.end()
    expect(await serving).toEqual({requests: 7})
    await handler.close()
  })

  it('waits for ever with no timeout', async () => {
    const handler = createSyncHandler({...receiveDeps(await memoryWith([])), soleWriter: true})
    const input = new PassThrough()
    const {out, msgs} = collector()
    const serving = serveStreams(handler, input, out, {idleMs: 0})
    await sleep(100)
    input.end(frameMessage(encode([hello()])))
    expect(await serving).toEqual({requests: 1})
    expect(msgs).toHaveLength(1)
    await handler.close()
  })
})

describe('sync-serve --stdio letting go of the store while the peer is silent', () => {
  it('calls onQuiet once per silence of the peer, never while a request is being worked on', async () => {
    const inner = createSyncHandler({...receiveDeps(await memoryWith([])), soleWriter: true})
    const events: string[] = []
    // Work that takes five times the quiet time: a release then would pull the store from under it.
    const handler: SyncHandler = {
      async handle(m) {
        events.push('start')
        await sleep(250)
        events.push('end')
        return inner.handle(m)
      },
      close: () => inner.close(),
    }
    const input = new PassThrough()
    const {out, msgs} = collector()
    const served = serveStreams(handler, input, out, {quietMs: 50, onQuiet: () => events.push('quiet')})
    // Silence before the first request, then two requests with silences between, then the end.
    await sleep(150)
    input.write(frameMessage(encode([hello()])))
    while (msgs.length < 1) await sleep(5)
    await sleep(150)
    input.write(frameMessage(encode([hello()])))
    while (msgs.length < 2) await sleep(5)
    await sleep(150)
    input.end()
    expect(await served).toEqual({requests: 2})
    await inner.close()
    // Each silence is reported once however long it lasts; none inside a request's work.
    expect(events).toEqual(['quiet', 'start', 'end', 'quiet', 'start', 'end', 'quiet'])
  })
})

describe('StoreLease', () => {
  it('a store that fails to close when let go of (a disk full as the clock is saved) fails the next request, and is no unhandled rejection meanwhile', async () => {
    const unhandled: unknown[] = []
    const seen = (e: unknown) => unhandled.push(e)
    process.on('unhandledRejection', seen)
    try {
      const rt = await openRuntime({store: 'memory:', env: {}})
      const failing = {...rt, close: async () => {
        await rt.close()
        throw new Error('No space left on device')
      }}
      let reopened = 0
      const lease = new StoreLease(failing, async () => (reopened++, openRuntime({store: 'memory:', env: {}})), false)
      expect(decode(await lease.handle(encode([hello()])))[0]).toMatchObject({t: T.Hello})
      // The client falls silent: the store is let go of, and closing it fails with no one waiting on it.
      lease.release()
      await sleep(50)
      expect(unhandled).toEqual([])
      // The failure is the next request's, which opens nothing over a store in an unknown state.
      await expect(lease.handle(encode([hello()]))).rejects.toThrow('No space left on device')
      expect(reopened).toBe(0)
      await expect(lease.close()).rejects.toThrow('No space left on device')
    } finally {
      process.off('unhandledRejection', seen)
    }
  })
})
