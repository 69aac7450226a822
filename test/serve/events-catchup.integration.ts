/** A resuming event stream's catch-up is written in pieces as the client takes them, live events queued after it, bounded (in-process daemon, real HTTP over a socket). */
import {afterEach, describe, expect, it} from 'vitest'
import type {Sealed} from '../../src/core/seal.js'
import {assertion, stamp, testKey} from '../helpers/records.js'
import {ndjson, startHarness, type Harness} from './harness.js'
import {RawGet} from './raw-http.js'
import {SseStream} from './sse.js'

const PIECE = 64 * 1024

/** The blocks of an event stream's text: each one's id, event and data lines. */
function blocks(text: string): Array<{id?: string; event?: string; data?: string}> {
  return text
    .split('\n\n')
    .filter((b) => b !== '' && !b.startsWith(':') && !b.startsWith('retry:'))
    .map((b) => {
      const out: {id?: string; event?: string; data?: string} = {}
      for (const line of b.split('\n')) {
        const colon = line.indexOf(':')
        const [k, v] = [line.slice(0, colon), line.slice(colon + 2)]
        if (k === 'id' || k === 'event' || k === 'data') out[k] = v
      }
      return out
    })
}
const recordIds = (text: string) => blocks(text).filter((b) => b.event === 'record').map((b) => b.id)

let n = 0
/** Records of about `size` characters each, stamped in order. */
const big = (count: number, size = 6000): Sealed[] => Array.from({length: count}, () => assertion({subject: 'drug:x', value: `${n} ${'x'.repeat(size)}`, hlc: stamp(1_760_000_000_000 + n++, 0)}, testKey(3)))

describe('GET /v1/events catch-up in pieces', () => {
  let h: Harness | undefined
  afterEach(async () => {
    await h?.stop()
    h = undefined
  })
  const auth = () => ({authorization: `Bearer ${h!.read}`})
  const post = async (rs: Sealed[]) => {
    const r = await h!.req('/v1/records?detail=ids', {method: 'POST', headers: {'content-type': 'application/x-ndjson'}, body: ndjson(rs), token: h!.write})
    expect(r.body).toMatchObject({added: rs.length})
  }
  /** A stream's opening place, left at once: what a client that was away resumes from. */
  const openingPlace = async (): Promise<string> => {
    const s = await SseStream.open(`${h!.url}/v1/events`, auth())
    await s.until((x) => x.lastEventId !== '', 'the opening')
    s.close()
    for (let i = 0; i < 200 && h!.server.ctx.observed.listenerCount('added') > 0; i++) await new Promise((r) => setTimeout(r, 10))
    return s.lastEventId
  }
  const resumed = (from: string, onData?: (g: RawGet) => void) => new RawGet(h!.url, '/v1/events', {...auth(), 'last-event-id': from}, onData)
  const until = async (g: RawGet, done: () => boolean, what: string) => {
    for (let i = 0; i < 1500 && !done(); i++) await new Promise((r) => setTimeout(r, 20))
    if (!done()) throw new Error(`no ${what}; ${g.received} bytes received`)
  }

  it('writes what was missed in pieces of about 64 KiB, in the order stored, then goes on live', async () => {
    h = await startHarness()
    const from = await openingPlace()
    const missed = big(400)
    await post(missed.slice(0, 200))
    await post(missed.slice(200))
    const g = resumed(from)
    await until(g, () => recordIds(g.text()).length === 400, 'catch-up')
    const live = big(2, 10)
    await post(live)
    await until(g, () => recordIds(g.text()).length === 402, 'live events')
    g.socket.destroy()
    const a = await g.answer
    expect(a.status).toBe(200)
    expect(recordIds(g.text())).toEqual([...missed, ...live].map((s) => s.record.id))
    expect(blocks(g.text()).some((b) => b.event === 'reset')).toBe(false)
    const event = Math.max(...missed.map((s) => Buffer.byteLength(JSON.stringify(s.record)) + 100))
    expect(a.chunks.length).toBeGreaterThan(400 * 6000 / (PIECE + event))
    for (const size of a.chunks) expect(size).toBeLessThanOrEqual(PIECE + event)
  })

  it('live events stored while a slow client takes its catch-up come after it, in order; past the backlog bound the subscriber is dropped', async () => {
    h = await startHarness()
    const from = await openingPlace()
    // ~24 MB to catch up on: more than the sockets between client and daemon hold, so the
    // daemon is still writing it while the client does not read.
    const missed = big(4000)
    for (let i = 0; i < missed.length; i += 1000) await post(missed.slice(i, i + 1000))
    let paused = false
    const g = resumed(from, (x) => {
      if (paused || x.received === 0) return
      paused = true
      x.socket.pause()
    })
    await until(g, () => paused, 'first bytes')
    const live = big(3, 10)
    for (const r of live) await post([r])
    g.socket.resume()
    await until(g, () => recordIds(g.text()).length === 4003, 'catch-up and live events')
    expect(recordIds(g.text())).toEqual([...missed, ...live].map((s) => s.record.id))
    expect(h.server.ctx.observed.listenerCount('added')).toBe(1)
    g.socket.destroy()

    // Again, with more than 8 MiB of live events stored while the client does not read. The
    // catch-up is the same ~24 MB as above, resumed again from the same place: the daemon still
    // keeps all of it (its journal holds 32 MiB), so nothing new need be stored to have it.
    const caughtUp = [...missed, ...live]
    paused = false
    const slow = resumed(from, (x) => {
      if (paused || x.received === 0) return
      paused = true
      x.socket.pause()
    })
    await until(slow, () => paused, 'first bytes')
    // Three writes of ~3 MB: the third takes the queue past 8 MiB.
    for (let i = 0; i < 3; i++) await post(big(500))
    for (let i = 0; i < 500 && h.server.ctx.observed.listenerCount('added') > 0; i++) await new Promise((r) => setTimeout(r, 20))
    expect(h.server.ctx.observed.listenerCount('added')).toBe(0)
    slow.socket.resume()
    const a = await slow.answer
    expect(a.complete).toBe(false)
    expect(blocks(slow.text()).some((b) => b.event === 'reset')).toBe(false)
    expect(recordIds(slow.text()).length).toBeLessThan(caughtUp.length + 1500)
  }, 120_000)

  it('a stream ended while its client does not read is written to no more: its heartbeat does not take the daemon down', async () => {
    // Node emits 'error' for a write after end, and with nobody listening the process dies.
    const crashes: unknown[] = []
    const onCrash = (e: unknown) => crashes.push(e)
    process.on('uncaughtException', onCrash)
    try {
      h = await startHarness({requestTimeout: 5000, events: {heartbeatMs: 50}})
      const from = await openingPlace()
      // ~12 MB to catch up on: the daemon is still writing it when its client stops reading.
      const missed = big(2000)
      for (let i = 0; i < missed.length; i += 1000) await post(missed.slice(i, i + 1000))
      const stalled = (token: string) => {
        let paused = false
        const g = new RawGet(h!.url, '/v1/events', {authorization: `Bearer ${token}`, 'last-event-id': from}, (x) => {
          if (paused || x.received === 0) return
          paused = true
          x.socket.pause()
        })
        return {g, paused: () => paused}
      }
      // Its token revoked: the stream is ended with an error event that waits behind the unread catch-up.
      const victim = h.tokens.create('read', 'victim').token
      const a = stalled(victim)
      await until(a.g, a.paused, 'first bytes')
      h.tokens.revoke('victim')
      // Streams check their token every second; heartbeats come due many times over meanwhile.
      await new Promise((r) => setTimeout(r, 2000))
      expect(crashes).toEqual([])
      a.g.socket.resume()
      await until(a.g, () => a.g.text().includes('event: error'), 'the error event')
      expect(blocks(a.g.text()).pop()).toMatchObject({event: 'error', data: expect.stringContaining('revoked')})
      a.g.socket.destroy()

      // The daemon stopping ends every stream, stalled ones too: they wait for the grace period.
      const b = stalled(h.read)
      await until(b.g, b.paused, 'first bytes')
      const stopping = h.server.close()
      await new Promise((r) => setTimeout(r, 500))
      expect(crashes).toEqual([])
      b.g.socket.resume()
      await b.g.answer
      await stopping
      expect(crashes).toEqual([])
    } finally {
      process.off('uncaughtException', onCrash)
    }
  }, 120_000)

  it('a reset does not quote token text a client put in its Last-Event-ID', async () => {
    h = await startHarness()
    const token = h.write
    // Each stream is left open until the last has its reset, then all are closed: a stream closed
    // by its client before the next one opened kept the daemon's shutdown waiting ~4 s after.
    const streams: SseStream[] = []
    try {
      for (const from of [token, `x${token}`, `${'a'.repeat(70)}${token}`]) {
        for (const how of ['header', 'query'] as const) {
          if (how === 'query' && from.length > 128) continue
          const s = await SseStream.open(`${h.url}/v1/events${how === 'query' ? `?last-event-id=${encodeURIComponent(from)}` : ''}`, {...auth(), ...(how === 'header' ? {'last-event-id': from} : {})})
          streams.push(s)
          await s.until((x) => x.events.length > 0, 'the reset')
          const body = JSON.parse(s.events[0].data) as {message: string}
          expect(s.events[0].event).toBe('reset')
          expect(body.message, `${how}: ${from}`).toContain('[redacted]')
          expect(body.message).not.toContain('stm_')
          expect(body.message).not.toContain(token.slice(4, 20))
        }
      }
    } finally {
      for (const s of streams) s.close()
    }
  })
})
