/** GET /v1/log is written as the store reads it, in pieces (in-process daemon, real HTTP over a socket): the same bytes, bounded memory. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Store} from '../../src/core/store.js'
import type {Sealed} from '../../src/core/seal.js'
import {logOp, type LogInput} from '../../src/ops/log.js'
import {UserError} from '../../src/core/errors.js'
import {RemoteClient} from '../../src/serve/client.js'
import {assertion, stamp, testKey} from '../helpers/records.js'
import {ndjson, startHarness, type Harness} from './harness.js'
import {RawGet} from './raw-http.js'
import {sendStall} from '../../src/serve/pieces.js'

const PIECE = 64 * 1024
/**
 * Big records, so a page is far larger than what the sockets between client and daemon buffer:
 * 10,000 records of about 3 KB, a page of ~30 MB in 5 store batches of ~6 MB, where a client that
 * stops reading after its first bytes has the daemon's socket take a few MB at most. (Values of
 * 6,000 characters made the same pages twice as large, and the fixture and the whole-page
 * comparisons twice as slow, for nothing more checked.)
 */
const COUNT = 10_000
const VALUE = 3000

describe('GET /v1/log in pieces', () => {
  let h: Harness
  let rs: Sealed[]
  /** The store's reads: batches handed out by each scan, and whether each scan has ended. */
  let scans: Array<{batches: number; ended: boolean}> = []
  let failAt: number | undefined

  beforeAll(async () => {
    h = await startHarness()
    rs = Array.from({length: COUNT}, (_, i) => assertion({subject: `s:${i % 7}`, predicate: 'p', value: `${i} ${'é'.repeat(i % 3)}${'x'.repeat(VALUE)}`, hlc: stamp(1_760_000_000_000 + Math.floor(i / 4), 0)}, testKey(1 + (i % 5))))
    for (let i = 0; i < rs.length; i += 2500) {
      const r = await h.req('/v1/records?detail=counts', {method: 'POST', headers: {'content-type': 'application/x-ndjson'}, body: ndjson(rs.slice(i, i + 2500)), token: h.write})
      expect(r.status).toBe(200)
    }
    // Every scan the daemon runs, counted: the real store's batches, passed on as they come.
    const store = h.rt.store
    const scan = store.scan.bind(store)
    ;(store as {scan: Store['scan']}).scan = async function* (opts) {
      const seen = {batches: 0, ended: false}
      scans.push(seen)
      try {
        for await (const b of scan(opts)) {
          if (failAt !== undefined && seen.batches === failAt) throw new Error('the store failed (test)')
          seen.batches++
          yield b
        }
      } finally {
        seen.ended = true
      }
    }
  }, 120_000)
  afterAll(async () => {
    await h?.stop()
  })
  const auth = () => ({authorization: `Bearer ${h.read}`})

  it('the bytes are those of the page built whole, for every kind of page; a full page carries next', async () => {
    const all = (await logOp(h.rt, {})).records
    const queries: Array<[string, LogInput]> = [
      ['', {limit: 100_000}],
      ['?limit=1', {limit: 1}],
      ['?limit=37', {limit: 37}],
      [`?limit=${COUNT}`, {limit: COUNT}],
      [`?limit=${COUNT + 1}`, {limit: COUNT + 1}],
      ['?subject=s:3&limit=200', {subject: 's:3', limit: 200}],
      ['?subject=nobody', {subject: 'nobody', limit: 100_000}],
      [`?since=${all[5000].hlc}&limit=900`, {since: all[5000].hlc, limit: 900}],
      [`?after=${encodeURIComponent(`${all[9990].hlc}/${all[9990].id}`)}&limit=20`, {after: all[9990], limit: 20}],
    ]
    for (const [query, input] of queries) {
      const res = await fetch(`${h.url}/v1/log${query}`, {headers: auth()})
      expect(res.status, query).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8')
      expect(await res.text(), query).toBe(JSON.stringify(await logOp(h.rt, input)))
    }
  })

  it('is written in pieces of about 64 KiB, never the page in one write', async () => {
    const g = new RawGet(h.url, '/v1/log?limit=2000', auth())
    const a = await g.answer
    expect(a.status).toBe(200)
    expect(a.complete).toBe(true)
    expect(a.headers['transfer-encoding']).toBe('chunked')
    expect(a.headers['content-length']).toBeUndefined()
    const page = JSON.parse(a.body.toString('utf8')) as {records: unknown[]; next?: string}
    expect(page.records).toHaveLength(2000)
    // A piece ends at the first record that takes it past 64 KiB of text (a character here is at most 2 bytes).
    const biggest = Math.max(...rs.map((s) => Buffer.byteLength(JSON.stringify(s.record))))
    expect(a.chunks.length).toBeGreaterThan(a.body.length / (2 * PIECE + biggest))
    for (const size of a.chunks) expect(size).toBeLessThanOrEqual(2 * PIECE + biggest)
  })

  it('starts before the store has read the page, and a client that goes away ends the read', async () => {
    scans = []
    const total = Math.ceil(COUNT / 2048)
    let atFirstByte: number | undefined
    const g = new RawGet(h.url, `/v1/log?limit=${COUNT}`, auth(), (x) => {
      if (atFirstByte !== undefined || x.received === 0) return
      atFirstByte = scans[0].batches
      // Gone after the first piece: ~30 MB of page unread.
      x.socket.destroy()
    })
    await g.answer
    expect(scans).toHaveLength(1)
    for (let i = 0; i < 500 && !scans[0].ended; i++) await new Promise((r) => setTimeout(r, 20))
    expect(scans[0].ended).toBe(true)
    expect(atFirstByte).toBeLessThan(total)
    expect(scans[0].batches).toBeLessThan(total)
  })

  it('a client that stops taking the answer is dropped after a while, and its read of the store ends', async () => {
    scans = []
    const saved = sendStall.ms
    sendStall.ms = 300
    try {
      let paused = false
      const g = new RawGet(h.url, `/v1/log?limit=${COUNT}`, auth(), (x) => {
        // Reads nothing more after the first bytes of the page, and never leaves on its own.
        if (x.received > 0 && !paused) {
          paused = true
          x.socket.pause()
        }
      })
      // The daemon gives up on it: the store read ends though the client is still connected.
      for (let i = 0; i < 500 && !scans[0]?.ended; i++) await new Promise((r) => setTimeout(r, 20))
      expect(scans[0].ended).toBe(true)
      expect(scans[0].batches).toBeLessThan(Math.ceil(COUNT / 2048))
      // Once it reads again, it finds the answer cut short.
      g.socket.resume()
      const a = await g.answer
      expect(a.status).toBe(200)
      expect(a.complete).toBe(false)
    } finally {
      sendStall.ms = saved
    }
  })

  it('a store that fails before the first byte gets a JSON error answer; one that fails later, an answer cut short', async () => {
    failAt = 0
    try {
      const before = await h.req('/v1/log?limit=5000', {token: h.read})
      expect(before.status).toBe(500)
      expect(before.body).toEqual({error: {code: 'internal', message: expect.stringContaining('internal error')}})
      failAt = 1
      const later = await new RawGet(h.url, '/v1/log?limit=5000', auth()).answer
      expect(later.status).toBe(200)
      expect(later.complete).toBe(false)
      expect(() => JSON.parse(later.body.toString('utf8'))).toThrow()
      // The CLI (--remote) says the answer was cut short, not that another server answered.
      const cut = await new RemoteClient(h.url, h.read).log({limit: 5000}).then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(cut).toBeInstanceOf(UserError)
      expect((cut as UserError).message).toMatch(/answer to GET \/v1\/log from steme serve at http:\/\/\S+ was cut short/)
      expect((cut as UserError).message).not.toMatch(/not JSON/)
      expect((cut as UserError).hint).toMatch(/retry/)
      expect((cut as UserError).exit).toBe(1)
    } finally {
      failAt = undefined
    }
    // The daemon goes on serving.
    expect((await h.req('/v1/log?limit=3', {token: h.read})).body.records).toHaveLength(3)
  })
})
