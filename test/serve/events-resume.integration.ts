/** GET /v1/events resumes where a stream left off (Last-Event-ID), exactly, or says it cannot: records stored later may carry older stamps. */
import {cpSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import type {SignedRecord} from '../../src/core/record.js'
import type {ServeOptions} from '../../src/serve/app.js'
import {TokenFile} from '../../src/serve/tokens.js'
import {assertion, stamp, testKey} from '../helpers/records.js'
import {makeEnv, startDaemon, steme, type Daemon, type Env} from './daemon.js'
import {ndjson, startHarness, type Harness} from './harness.js'
import {SseStream} from './sse.js'

const NDJSON = {'content-type': 'application/x-ndjson'}
const ids = (rs: Array<{id: string}>) => rs.map((r) => r.id)

describe('GET /v1/events resumes after the last event id (in-process daemon, real HTTP)', () => {
  let h: Harness | undefined
  const streams: SseStream[] = []
  afterEach(async () => {
    for (const s of streams.splice(0)) s.close()
    await h?.stop()
    h = undefined
  })
  const start = async (opts: Partial<Omit<ServeOptions, 'deps' | 'tokens'>> = {}) => (h = await startHarness(opts))
  const open = async (query = '', lastEventId?: string) => {
    const headers: Record<string, string> = {authorization: `Bearer ${h!.read}`}
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId
    const s = await SseStream.open(`${h!.url}/v1/events${query}`, headers)
    streams.push(s)
    expect(s.status).toBe(200)
    // The stream's opening: its place, sent before anything else happens.
    await s.until((x) => x.lastEventId !== '' || x.events.length > 0, 'the opening')
    return s
  }
  /** Close a stream and wait until the daemon has seen it go. */
  const leave = async (s: SseStream) => {
    s.close()
    for (let i = 0; i < 200 && h!.server.ctx.observed.listenerCount('added') > 0; i++) await new Promise((r) => setTimeout(r, 10))
    expect(h!.server.ctx.observed.listenerCount('added')).toBe(0)
  }
  const post = async (rs: ReturnType<typeof assertion>[], detail: 'ids' | 'counts' = 'ids') => {
    const r = await h!.req(`/v1/records?detail=${detail}`, {method: 'POST', headers: NDJSON, body: ndjson(rs), token: h!.write})
    expect(r.body).toMatchObject({added: rs.length})
  }

  it('sends what was stored while the stream was away, in the order stored, older stamps included, then goes on live', async () => {
    await start()
    const r1 = assertion({subject: 'drug:a', value: 1, hlc: stamp(1_760_000_100_000, 0)})
    // Stamped before r1: as a record from a peer that stamped it earlier arrives.
    const r0 = assertion({subject: 'drug:b', value: 0, hlc: stamp(1_760_000_000_000, 0)}, testKey(2))
    const r2 = assertion({subject: 'drug:c', value: 2, hlc: stamp(1_760_000_200_000, 0)})
    const r3 = assertion({subject: 'drug:d', value: 3, hlc: stamp(1_760_000_300_000, 0)})
    const s1 = await open()
    const opening = s1.lastEventId
    await post([r1])
    await s1.until((s) => s.records().length === 1, 'r1')
    expect(s1.lastEventId).toBe(r1.record.id)
    await leave(s1)
    // While away: the older stamp through the bulk path (counts only), a newer one asking for ids.
    await post([r0], 'counts')
    await post([r2])
    // What the documentation used to advise misses r0: its stamp is below the last one seen.
    const bySince = (await h!.req(`/v1/log?since=${r1.record.hlc}`, {token: h!.read})).body.records as SignedRecord[]
    expect(ids(bySince)).toEqual([r2.record.id])
    const s2 = await open('', s1.lastEventId)
    await s2.until((s) => s.records().length === 2, 'the two records stored while away')
    expect(s2.events.map((e) => e.event)).toEqual(['record', 'record'])
    expect(ids(s2.records())).toEqual([r0.record.id, r2.record.id])
    expect(s2.records()[0]).toEqual(r0.record)
    await post([r3])
    await s2.until((s) => s.records().length === 3, 'r3, live')
    expect(ids(s2.records())).toEqual([r0.record.id, r2.record.id, r3.record.id])
    // The opening place of the first stream, as a query parameter (a new EventSource cannot set
    // the header): everything stored since, once each.
    const s3 = await open(`?last-event-id=${encodeURIComponent(opening)}`)
    await s3.until((s) => s.records().length === 4, 'everything since the first opening')
    expect(ids(s3.records())).toEqual([r1.record.id, r0.record.id, r2.record.id, r3.record.id])
    // Resuming from the newest record: nothing to send, and no reset.
    const s4 = await open('', r3.record.id)
    expect(s4.lastEventId).toBe(r3.record.id)
    expect(s4.events).toEqual([])
  })

  it('a place it cannot resume from gets a reset event saying so and what to do, then the stream goes on live', async () => {
    await start()
    for (const from of ['ab'.repeat(32), 'begin-0000000000000000', 'nonsense']) {
      const s = await open('', from)
      await s.until((x) => x.events.length > 0, 'the reset')
      expect(s.events[0].event).toBe('reset')
      const body = JSON.parse(s.events[0].data)
      expect(body).toMatchObject({code: 'resume_lost', message: expect.stringContaining('cannot resume this stream where it left off'), hint: expect.stringContaining('GET /v1/log')})
      // Its new place, so the next reconnect resumes from here.
      expect(s.lastEventId).toMatch(/^begin-[0-9a-f]{16}$/)
    }
    const r = assertion({subject: 'drug:live', value: 1})
    await post([r])
    for (const s of streams) await s.until((x) => x.records().length === 1, 'the live record after a reset')
  })

  it('records stored through the bulk path while no stream has been open for the resume window: a reset, not a silent gap', async () => {
    // A window of 0: the daemon stops learning which records are new as soon as the last stream closes.
    await start({events: {resumeMs: 0}})
    const r1 = assertion({subject: 'drug:a', value: 1})
    const s1 = await open()
    await post([r1])
    await s1.until((s) => s.records().length === 1, 'r1')
    await leave(s1)
    await post([assertion({subject: 'drug:b', value: 2}, testKey(2))], 'counts')
    const s2 = await open('', r1.record.id)
    await s2.until((s) => s.events.length > 0, 'the reset')
    expect(s2.events.map((e) => e.event)).toEqual(['reset'])
  })

  it('more records stored while away than the daemon keeps: a reset; from a place it still holds, the rest exactly', async () => {
    await start({events: {journal: {records: 3, bytes: 1 << 30}}})
    const r1 = assertion({subject: 'drug:a', value: 1})
    const later = [2, 3, 4].map((v) => assertion({subject: 'drug:a', value: v}))
    const s1 = await open()
    await post([r1])
    await s1.until((s) => s.records().length === 1, 'r1')
    await leave(s1)
    await post(later)
    const lost = await open('', r1.record.id)
    await lost.until((s) => s.events.length > 0, 'the reset')
    expect(lost.events[0].event).toBe('reset')
    expect(JSON.parse(lost.events[0].data).message).toMatch(/3 records/)
    const kept = await open('', later[0].record.id)
    await kept.until((s) => s.records().length === 2, 'the two after the oldest kept')
    expect(ids(kept.records())).toEqual(ids(later.slice(1).map((s) => s.record)))
  })

  it('a filtered stream moves its place past the records it does not send, so it resumes after them', async () => {
    await start()
    const s1 = await open('?subject=drug:')
    const skipped = assertion({subject: 'food:x', value: 1})
    await post([skipped])
    await s1.until((s) => s.lastEventId === skipped.record.id, 'the place past food:x')
    expect(s1.events).toEqual([])
    await leave(s1)
    const wanted = assertion({subject: 'drug:y', value: 2})
    await post([assertion({subject: 'food:z', value: 3}), wanted])
    const s2 = await open('?subject=drug:', s1.lastEventId)
    await s2.until((s) => s.records().length === 1, 'drug:y')
    expect(s2.events.map((e) => e.event)).toEqual(['record'])
    expect(ids(s2.records())).toEqual([wanted.record.id])
  })
})

describe('GET /v1/events resumes across a sync push of older records (a real steme serve)', () => {
  const dirs: Env[] = []
  const daemons: Daemon[] = []
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.stop()
    for (const e of dirs.splice(0)) rmSync(e.dir, {recursive: true, force: true})
  })

  it('a record a peer stamped before the last event seen, pushed while the subscriber was away, comes on resuming; after a restart, a reset', async () => {
    const a = makeEnv('steme-resume-a-')
    const b = makeEnv('steme-resume-b-')
    b.env = {...b.env, XDG_CONFIG_HOME: a.env.XDG_CONFIG_HOME}
    dirs.push(a, b)
    expect((await steme(a, ['init', '--dir', a.dir])).code).toBe(0)
    // The peer's store: a copy of the one init just made (both sign with the same key), not a second init.
    cpSync(join(a.dir, '.steme'), join(b.dir, '.steme'), {recursive: true})
    // The peer's record is stamped now, before anything the daemon will be sent.
    expect((await steme(b, ['ingest', '-'], '{"subject":"site:peer","predicate":"p","value":0}\n')).code).toBe(0)
    // Made here by the code behind `steme serve token create`, rather than by spawning it.
    const write = TokenFile.forStateDir(join(a.dir, '.steme', 'state')).create('write').token
    let d = await startDaemon(a)
    daemons.push(d)
    const headers = (lastEventId?: string): Record<string, string> => ({authorization: `Bearer ${d.token}`, ...(lastEventId ? {'last-event-id': lastEventId} : {})})
    const s1 = await SseStream.open(`${d.url}/v1/events?subject=site:`, headers())
    const ingest = async (line: string) => {
      const r = await steme(a, ['ingest', '-'], line)
      expect(r.code, r.stderr).toBe(0)
      // The daemon holds the store, so the command went through it.
      expect(r.stderr).toMatch(/going through it/)
    }
    await ingest('{"subject":"site:a","predicate":"p","value":1}\n')
    await s1.until((s) => s.records().length === 1, 'site:a')
    const seen = s1.records()[0]
    const place = s1.lastEventId
    expect(place).toBe(seen.id)
    s1.close()
    // Away: the peer pushes its older record, and another is ingested through the daemon (the bulk, counts-only path).
    const pushed = await steme({...b, env: {...b.env, STEME_TOKEN: write}}, ['push', d.url, '--json'])
    expect(pushed.code, pushed.stderr).toBe(0)
    await ingest('{"subject":"site:b","predicate":"p","value":2}\n')
    const log = (await (await fetch(`${d.url}/v1/log`, {headers: headers()})).json()) as {records: SignedRecord[]}
    const peer = log.records.find((r) => r.kind === 'assertion' && r.subject === 'site:peer')!
    expect(peer.hlc < seen.hlc).toBe(true)
    const s2 = await SseStream.open(`${d.url}/v1/events?subject=site:`, headers(place))
    await s2.until((s) => s.records().length === 2, 'the two records stored while away')
    expect(s2.records().map((r) => r.subject)).toEqual(['site:peer', 'site:b'])
    expect(s2.records()[0]).toEqual(peer)
    expect(s2.events.some((e) => e.event === 'reset')).toBe(false)
    const resumeFrom = s2.lastEventId
    s2.close()
    // A restarted daemon keeps no journal: it says so rather than pretend nothing was missed.
    await d.stop()
    d = await startDaemon(a)
    daemons.push(d)
    const s3 = await SseStream.open(`${d.url}/v1/events?subject=site:`, headers(resumeFrom))
    await s3.until((s) => s.events.length > 0, 'the reset')
    expect(s3.events[0].event).toBe('reset')
    expect(JSON.parse(s3.events[0].data)).toMatchObject({code: 'resume_lost'})
    await ingest('{"subject":"site:c","predicate":"p","value":3}\n')
    await s3.until((s) => s.records().length === 1, 'site:c, live after the reset')
    s3.close()
  })
})
