/** steme serve over real HTTP: every route's happy path and errors, auth for every route, limits, SSE. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {readFileSync} from 'node:fs'
import {PassThrough} from 'node:stream'
import {parse as parseYaml} from 'yaml'
import type {RouteEntry} from '../../src/serve/app.js'
import {recordLine} from '../../src/core/seal.js'
import {CAPS} from '../../src/sync/server.js'
import {PROTOCOL, T, VERSION, decode, encode} from '../../src/sync/wire.js'
import type {Role} from '../../src/serve/tokens.js'
import {assertion, record, testKey} from '../helpers/records.js'
import {ndjson, startHarness, type Harness} from './harness.js'
import {CONFLICTS_DEFAULT, RemoteClient} from '../../src/serve/client.js'
import {UserError} from '../../src/core/errors.js'
import {openHttpTransport} from '../../src/sync/transports/http.js'
import {conflictsOp} from '../../src/ops/conflicts.js'

const NDJSON = {'content-type': 'application/x-ndjson'}
const JSONCT = {'content-type': 'application/json'}

/** No error body may carry a stack trace or a file path. */
function expectCleanError(r: {text: string; body: any}, code: string) {
  expect(r.body?.error?.code).toBe(code)
  expect(typeof r.body.error.message).toBe('string')
  expect(r.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|\.js:\d+/)
}

describe('steme serve routes', () => {
  let h: Harness
  const a1 = assertion({subject: 'drug:aspirin', predicate: 'bleeding_rate', value: 0.002})
  const a2 = assertion({subject: 'drug:aspirin', predicate: 'bleeding_rate', value: 0.003}, testKey(2))
  const b1 = assertion({subject: 'drug:ibuprofen', predicate: 'dose', value: 400})
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => {
    await h.stop()
  })

  it('healthz and the OpenAPI document need no token', async () => {
    expect((await h.req('/healthz', {token: null})).body).toEqual({status: 'ok'})
    const doc = await h.req('/v1/openapi.yaml', {token: null})
    expect(doc.status).toBe(200)
    const api = parseYaml(doc.text)
    for (const p of ['/v1/records', '/v1/query', '/v1/records/{id}', '/v1/log', '/v1/events', '/v1/conflicts', '/v1/verify', '/metrics', '/healthz']) expect(api.paths[p]).toBeDefined()
  })

  it('POST /v1/records stores NDJSON, reports added, present and rejected per record', async () => {
    const bad = {...a2.record, value: 0.004} // content changed: the id no longer matches
    const body = ndjson([a1]) + JSON.stringify(bad) + '\nnot json\n' + ndjson([b1, a1])
    const r = await h.req('/v1/records', {method: 'POST', headers: NDJSON, body, token: h.write})
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({lines: 5, added: 2, present: 1, rejected: 2, format: 'ndjson'})
    expect(r.body.ids.added.sort()).toEqual([a1.record.id, b1.record.id].sort())
    expect(r.body.errors.map((e: {line: number}) => e.line)).toEqual([2, 3])
    expect(r.body.errors[0].reason).toMatch(/^id: does not match/)
    expect(r.body.errors[1].reason).toMatch(/not valid JSON/)
  })

  it('POST /v1/records takes a JSON array and a single JSON object', async () => {
    const arr = await h.req('/v1/records', {method: 'POST', headers: JSONCT, body: JSON.stringify([a2.record, a1.record])})
    expect(arr.body).toMatchObject({added: 1, present: 1, rejected: 0, format: 'json'})
    expect(arr.body.ids).toEqual({added: [a2.record.id], present: [a1.record.id]})
    const one = await h.req('/v1/records?detail=counts', {method: 'POST', headers: JSONCT, body: JSON.stringify(b1.record, null, 2)})
    expect(one.body).toMatchObject({added: 0, present: 1})
    expect(one.body.ids).toBeUndefined()
  })

  it('the daemon never signs: plain facts are rejected, 422 when nothing was accepted', async () => {
    const r = await h.req('/v1/records', {method: 'POST', headers: NDJSON, body: '{"subject":"x","predicate":"y","value":1}\n'})
    expect(r.status).toBe(422)
    expect(r.body).toMatchObject({rejected: 1, added: 0, error: {code: 'rejected'}})
    expect(r.body.errors[0].reason).toMatch(/never signs/)
  })

  it('GET /v1/query resolves through a lens, as steme query --json', async () => {
    const r = await h.req('/v1/query?subject=drug:aspirin&predicate=bleeding_rate&explain=true', {token: h.read})
    expect(r.status).toBe(200)
    expect(r.body.subject).toBe('drug:aspirin')
    expect(r.body.lens).toBe('recency')
    expect(r.body.resolutions).toHaveLength(1)
    expect(r.body.candidates.map((c: {id: string}) => c.id).sort()).toEqual([a1.record.id, a2.record.id].sort())
    const asOf = await h.req(`/v1/query?subject=drug:aspirin&as-of=2000-01-01`, {token: h.read})
    expect(asOf.body.candidates).toEqual([])
  })

  it('GET /v1/records/:id shows one record; unknown 404, malformed 400', async () => {
    const r = await h.req(`/v1/records/${a1.record.id}`, {token: h.read})
    expect(r.status).toBe(200)
    expect(r.body.record).toEqual(a1.record)
    expect(r.body.signature).toBe('valid')
    const unknown = await h.req(`/v1/records/${'0'.repeat(64)}`, {token: h.read})
    expect(unknown.status).toBe(404)
    expectCleanError(unknown, 'not_found')
    const bad = await h.req('/v1/records/xyz', {token: h.read})
    expect(bad.status).toBe(400)
    expectCleanError(bad, 'usage')
  })

  it('GET /v1/log lists records in hlc order, by subject, with limit', async () => {
    const all = await h.req('/v1/log', {token: h.read})
    expect(all.body.records).toHaveLength(3)
    const hlcs = all.body.records.map((r: {hlc: string}) => r.hlc)
    expect([...hlcs].sort()).toEqual(hlcs)
    const one = await h.req('/v1/log?subject=drug:ibuprofen&limit=5', {token: h.read})
    expect(one.body.records.map((r: {id: string}) => r.id)).toEqual([b1.record.id])
    const bad = await h.req('/v1/log?limit=0', {token: h.read})
    expect(bad.status).toBe(400)
    expectCleanError(bad, 'bad_request')
    const since = await h.req('/v1/log?since=yesterday-ish', {token: h.read})
    expect(since.status).toBe(400)
    expectCleanError(since, 'usage')
  })

  it('GET /v1/stats gives counts and the clock', async () => {
    const r = await h.req('/v1/stats', {token: h.read})
    expect(r.body.records).toBe(3)
    expect(r.body.clock).toMatch(/^[0-9a-f]{16}-[0-9a-f]{4}$/)
  })

  it('GET /metrics exposes requests by route and status, latency, records stored and rejected', async () => {
    const r = await h.req('/metrics', {token: h.read})
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/text\/plain/)
    expect(r.text).toMatch(/steme_http_requests_total\{route="\/v1\/records",method="POST",status="200"\} \d+/)
    expect(r.text).toMatch(/steme_http_request_duration_seconds_bucket\{le="0.005",route="\/v1\/query",method="GET"\}/)
    expect(r.text).toMatch(/steme_records_stored_total 3/)
    expect(r.text).toMatch(/steme_records_rejected_total 3/)
    expect(r.text).toMatch(/steme_sync_sessions_total/)
  })

  it('GET /v1/conflicts ranks contested pairs, as steme conflicts --json; bad parameters are 400', async () => {
    const r = await h.req('/v1/conflicts?lens=consensus&min-score=0.1', {token: h.read})
    expect(r.status).toBe(200)
    expect(r.body.conflicts.map((c: {subject: string; predicate: string}) => `${c.subject} ${c.predicate}`)).toEqual(['drug:aspirin bleeding_rate'])
    const bad = await h.req('/v1/conflicts?min-score=2', {token: h.read})
    expect(bad.status).toBe(400)
    expectCleanError(bad, 'bad_request')
    const lens = await h.req('/v1/conflicts?lens=nonsense((', {token: h.read})
    expect(lens.status).toBe(400)
    expectCleanError(lens, 'usage')
  })

  it('GET /v1/conflicts sends its answer a piece at a time: the bytes of JSON.stringify of conflicts --json and the page size, with no content-length', async () => {
    // Enough contested pairs for an answer of many pieces (~150 KB).
    const pairs = Array.from({length: 800}, (_, i) => [
      assertion({subject: `many:${i}`, predicate: 'p', value: i}),
      assertion({subject: `many:${i}`, predicate: 'p', value: i + 1}, testKey(2)),
    ]).flat()
    expect((await h.req('/v1/records', {method: 'POST', headers: NDJSON, body: ndjson(pairs), token: h.write})).body).toMatchObject({added: 1600})
    const r = await h.req('/v1/conflicts', {token: h.read})
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(r.headers.get('content-length')).toBeNull()
    const want = await conflictsOp(h.rt, {})
    expect(want.conflicts.length).toBeGreaterThan(800)
    expect(r.text.length).toBeGreaterThan(100_000)
    // One page, the default's: all of them here, so no next; `overlap` says this daemon scores a timeline
    // as no conflict, `instants` that its score without a date is the highest any one date gets,
    // `supersessionAtDates` that each date has its own supersession there.
    expect(r.text).toBe(JSON.stringify({...want, limit: CONFLICTS_DEFAULT, overlap: true, instants: true, supersessionAtDates: true}))
  })

  it('the OpenAPI document names the fields the read routes answer with', async () => {
    const api = parseYaml(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8'))
    const resolve = (s: any): any => (s?.$ref ? resolve(s.$ref.split('/').slice(1).reduce((o: any, k: string) => o[k], api)) : s)
    const fields = (path: string) => resolve(api.paths[path].get.responses['200'].content['application/json'].schema)
    const keysOf = (o: object) => Object.keys(o).sort()
    const documented = (schema: any) => keysOf(resolve(schema).properties)
    // Each answer's fields are among those documented (optional ones may be absent from one answer).
    const within = (body: object, schema: any, what: string) => expect(documented(schema), what).toEqual(expect.arrayContaining(keysOf(body)))
    const q = (await h.req('/v1/query?subject=drug:aspirin&as-of=2100-01-01&valid-at=2026-01-01', {token: h.read})).body
    within(q, fields('/v1/query'), 'GET /v1/query')
    within(q.resolutions[0], fields('/v1/query').properties.resolutions.items, 'a resolution')
    within(q.resolutions[0].winner, resolve(fields('/v1/query').properties.resolutions.items).properties.winner, 'a ranked value')
    within(q.candidates[0], fields('/v1/query').properties.candidates.items, 'a query candidate')
    expect(q.candidates[0]).not.toHaveProperty('sig')
    within((await h.req(`/v1/records/${a1.record.id}`, {token: h.read})).body, fields('/v1/records/{id}'), 'GET /v1/records/{id}')
    within((await h.req('/v1/stats', {token: h.read})).body, fields('/v1/stats'), 'GET /v1/stats')
    const c = (await h.req('/v1/conflicts?as-of=2100-01-01&valid-at=2026-01-01', {token: h.read})).body
    expect(c).toMatchObject({asOf: expect.any(String), validAt: '2026-01-01'})
    within(c, fields('/v1/conflicts'), 'GET /v1/conflicts')
    within(c.conflicts[0], fields('/v1/conflicts').properties.conflicts.items, 'a conflict row')
    within((await h.req('/v1/tokens', {token: h.admin})).body.tokens[0], fields('/v1/tokens').properties.tokens.items, 'a token')
  })

  it('POST /v1/sync takes sync messages only: JSON is 415, a malformed message gets an error frame, not a 500', async () => {
    const json = await h.req('/v1/sync', {method: 'POST', headers: JSONCT, body: '{}', token: h.read})
    expect(json.status).toBe(415)
    expectCleanError(json, 'unsupported_media_type')
    const junk = await h.req('/v1/sync', {method: 'POST', headers: {'content-type': 'application/x-steme-sync'}, body: new Uint8Array([1, 2, 3, 4, 5]), token: h.read})
    expect(junk.status).toBe(200)
    expect(junk.headers.get('content-type')).toMatch(/application\/x-steme-sync/)
  })

  describe('bad input is a 4xx with a stable code, never a 500 or a stack trace', () => {
    it('malformed JSON array', async () => {
      const r = await h.req('/v1/records', {method: 'POST', headers: JSONCT, body: '[{"v":1,'})
      expect(r.status).toBe(400)
      expectCleanError(r, 'invalid_record')
    })
    it('JSON that is not records', async () => {
      const r = await h.req('/v1/records', {method: 'POST', headers: JSONCT, body: '42'})
      expect(r.status).toBe(400)
      expectCleanError(r, 'invalid_record')
    })
    it('wrong or missing content type', async () => {
      const r = await h.req('/v1/records', {method: 'POST', headers: {'content-type': 'text/csv'}, body: 'a,b\n1,2\n'})
      expect(r.status).toBe(415)
      expectCleanError(r, 'unsupported_media_type')
      const none = await h.req('/v1/records', {method: 'POST', body: new Uint8Array([1, 2, 3])})
      expect(none.status).toBe(415)
      // Each route takes its own media types only, though the daemon parses several.
      const sync = await h.req('/v1/records', {method: 'POST', headers: {'content-type': 'application/x-steme-sync'}, body: '[]'})
      expect(sync.status).toBe(415)
      expectCleanError(sync, 'unsupported_media_type')
    })
    it('invalid lens expression', async () => {
      const r = await h.req('/v1/query?subject=drug:aspirin&lens=no-such-lens(', {token: h.read})
      expect(r.status).toBe(400)
      expectCleanError(r, 'usage')
      expect(r.body.error.hint).toMatch(/known lenses/)
    })
    it('a lens naming whole agent keys (over 256 characters) is answered; one over 2,048 is refused, naming lens', async () => {
      // Unknown keys pad the order past the old 256-character bound; only the first two match anyone.
      const order = (first: string, second: string) => [first, second, 'a'.repeat(64), 'b'.repeat(64)].map((k) => `agent:${k}`).join(' ')
      for (const [first, second, value] of [[a2.record.agent, a1.record.agent, 0.003], [a1.record.agent, a2.record.agent, 0.002]] as const) {
        const lens = `authority(order="${order(first, second)}")`
        expect(lens.length).toBeGreaterThan(256)
        const q = await h.req(`/v1/query?subject=drug:aspirin&predicate=bleeding_rate&lens=${encodeURIComponent(lens)}`, {token: h.read})
        expect(q.status, q.text).toBe(200)
        expect(q.body.resolutions[0].winner.value, q.text).toBe(value)
        const c = await h.req(`/v1/conflicts?lens=${encodeURIComponent(lens)}`, {token: h.read})
        expect(c.status, c.text).toBe(200)
      }
      const huge = `authority(order="${Array.from({length: 30}, (_, i) => `agent:${String(i % 10).repeat(64)}`).join(' ')}")`
      expect(huge.length).toBeGreaterThan(2048)
      for (const path of ['/v1/query?subject=drug:aspirin&lens=', '/v1/conflicts?lens=']) {
        const r = await h.req(path + encodeURIComponent(huge), {token: h.read})
        expect(r.status, path).toBe(400)
        expectCleanError(r, 'bad_request')
        expect(r.body.error.message, path).toMatch(/lens/)
      }
    })
    it('missing or oversized query parameters', async () => {
      const missing = await h.req('/v1/query', {token: h.read})
      expect(missing.status).toBe(400)
      expectCleanError(missing, 'bad_request')
      const long = await h.req(`/v1/query?subject=${'x'.repeat(4000)}`, {token: h.read})
      expect(long.status).toBe(400)
      expectCleanError(long, 'bad_request')
    })
    it('a query string beyond the header limit', async () => {
      const r = await h.req(`/v1/query?subject=${'x'.repeat(70_000)}`, {token: h.read})
      expect(r.status).toBe(431)
      expectCleanError(r, 'bad_request')
    })
    it('unknown route', async () => {
      const r = await h.req('/v1/nope')
      expect(r.status).toBe(404)
      expectCleanError(r, 'not_found')
      for (const method of ['POST', 'DELETE']) {
        const other = await h.req('/v1/nope', {method})
        expect(other.status, method).toBe(404)
        expect(other.headers.get('allow'), method).toBeNull()
      }
    })
    it('a route asked with a method it does not take: 405 with Allow, for every route of the route table, with or without a token', async () => {
      const byPath = new Map<string, string[]>()
      for (const r of h.server.routes) byPath.set(r.url, [...(byPath.get(r.url) ?? []), r.method])
      expect(byPath.get('/v1/events')).toEqual(['GET', 'HEAD'])
      for (const [url, methods] of byPath) {
        const path = url.replace(/:[a-z]+/g, 'a'.repeat(64))
        for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'].filter((m) => !methods.includes(m))) {
          for (const token of [undefined, null]) {
            const body = ['POST', 'PUT', 'PATCH'].includes(method) ? '{}' : undefined
            const r = await h.req(path, {method, headers: body ? JSONCT : {}, body, token})
            const what = `${method} ${path}${token === null ? ' without a token' : ''}`
            expect(r.status, what).toBe(405)
            expect(r.headers.get('allow'), what).toBe(methods.join(', '))
            if (method === 'HEAD') continue // no body: the status and Allow are the whole answer
            expectCleanError(r, 'method_not_allowed')
            expect(r.body.error.message, what).toBe(`${method} is not allowed on ${path}, which takes ${methods.join(', ')}`)
          }
        }
      }
    })
  })
})

/** A request that reaches a route's handler once auth lets it through: path parameters filled, a body for body routes. */
function sample(route: RouteEntry): {method: string; path: string; body?: string} {
  const path = route.url.replace(/:[a-z]+/g, 'a'.repeat(64)) + (route.url === '/v1/query' ? '?subject=s' : '')
  return {method: route.method, path, body: ['POST', 'PUT', 'PATCH'].includes(route.method) ? (route.url === '/v1/records' ? '[]' : '{}') : undefined}
}

const BELOW: Record<Role, Role | undefined> = {read: undefined, write: 'read', admin: 'write'}

describe('GET /v1/query with valid-at', () => {
  it('a superseder supersedes only at dates its valid range covers, each date answered on its own', async () => {
    const h = await startHarness()
    try {
      const key = testKey(7)
      const old = assertion({subject: 'svc:api', predicate: 'tls-min', value: '1.0', valid: {from: '2020-01-01'}}, key)
      const now = assertion({subject: 'svc:api', predicate: 'tls-min', value: '1.2', valid: {from: '2025-01-01'}, supersedes: [old.record.id]}, key)
      const port = assertion({subject: 'svc:api', predicate: 'port', value: 80}, key)
      const moved = assertion({subject: 'svc:edge', predicate: 'listen', value: 443, valid: {from: '2021-01-01', to: '2024-01-01'}, supersedes: [port.record.id]}, key)
      expect((await h.req('/v1/records', {method: 'POST', headers: NDJSON, body: ndjson([old, now, port, moved]), token: h.write})).body).toMatchObject({added: 4})
      const ask = async (predicate: string, validAt?: string) => {
        const r = await h.req(`/v1/query?subject=svc:api&predicate=${predicate}${validAt ? `&valid-at=${validAt}` : ''}`, {token: h.read})
        expect(r.status).toBe(200)
        return {winner: r.body.resolutions[0].winner?.value, states: r.body.candidates.map((c: {state: string}) => c.state)}
      }
      // Asked twice in turn: the daemon's cached answers are per date.
      for (let i = 0; i < 2; i++) {
        expect(await ask('tls-min', '2022-06-01')).toEqual({winner: '1.0', states: ['live', 'not-valid']})
        expect(await ask('tls-min', '2025-06-01')).toEqual({winner: '1.2', states: ['superseded', 'live']})
        expect(await ask('tls-min')).toEqual({winner: '1.2', states: ['superseded', 'live']})
        expect(await ask('port', '2020-06-01')).toEqual({winner: 80, states: ['live']})
        expect(await ask('port', '2022-06-01')).toEqual({winner: undefined, states: ['superseded']})
      }
    } finally {
      await h.stop()
    }
  })
})

describe('GET /v1/conflicts with valid-at', () => {
  it('lists the pairs contested at each date, each row as GET /v1/query resolves the pair then; the client for the CLI gets the flag named', async () => {
    const h = await startHarness()
    try {
      const [me, other] = [testKey(7), testKey(8)]
      const say = (subject: string, predicate: string, value: unknown, key: typeof me, more: {valid?: {from?: string; to?: string}; supersedes?: string[]} = {}) => assertion({subject, predicate, value: value as never, ...more}, key)
      // tls-min: 1.0 from 2020, 1.1 beside it 2021 to 2023, 1.2 replacing 1.0 from 2025.
      const old = say('svc:api', 'tls-min', '1.0', me, {valid: {from: '2020-01-01'}})
      const side = say('svc:api', 'tls-min', '1.1', other, {valid: {from: '2021-01-01', to: '2023-01-01'}})
      const now = say('svc:api', 'tls-min', '1.2', me, {valid: {from: '2025-01-01'}, supersedes: [old.record.id]})
      // port: 80 against 8080, except while a record about another subject replaced 80 (2021 to 2024).
      const port = say('svc:api', 'port', 80, me)
      const alt = say('svc:api', 'port', 8080, other)
      const moved = say('svc:edge', 'listen', 443, me, {valid: {from: '2021-01-01', to: '2024-01-01'}, supersedes: [port.record.id]})
      expect((await h.req('/v1/records', {method: 'POST', headers: NDJSON, body: ndjson([old, side, now, port, alt, moved]), token: h.write})).body).toMatchObject({added: 6})
      const listed = async (validAt?: string) => {
        const r = await h.req(`/v1/conflicts${validAt ? `?valid-at=${validAt}` : ''}`, {token: h.read})
        expect(r.status).toBe(200)
        expect(r.body.validAt).toBe(validAt)
        for (const row of r.body.conflicts) {
          const q = await h.req(`/v1/query?subject=${row.subject}&predicate=${row.predicate}&lens=consensus${validAt ? `&valid-at=${validAt}` : ''}`, {token: h.read})
          const [res] = q.body.resolutions
          expect(row, `${row.predicate} at ${validAt ?? 'any date'}`).toMatchObject({conflict: res.conflict, winner: res.winner?.key, status: res.status, values: res.candidates.length, top: res.candidates.slice(0, 3).map((c: {key: string; probability: number; witnesses: number}) => ({value: c.key, probability: c.probability, witnesses: c.witnesses}))})
        }
        return r.body.conflicts.map((c: {predicate: string}) => c.predicate).sort()
      }
      // Asked twice in turn: identical requests share answers, dated ones never another date's.
      for (let i = 0; i < 2; i++) {
        expect(await listed('2020-06-01')).toEqual(['port'])
        expect(await listed('2022-06-01')).toEqual(['tls-min'])
        expect(await listed('2024-06-01')).toEqual(['port'])
        // Undated, the highest any date gives, each with its own supersession: 1.0 against 1.1 in 2022, 80 against 8080 in 2020.
        expect(await listed()).toEqual(['port', 'tls-min'])
      }
      const bad = await h.req('/v1/conflicts?valid-at=someday', {token: h.read})
      expect(bad.status).toBe(400)
      expectCleanError(bad, 'usage')
      expect(bad.body.error.message).toBe('query parameter valid-at "someday" is not a date')
      const client = new RemoteClient(h.url, h.read)
      expect((await client.conflicts({validAt: '2022-06-01'})).conflicts.map((c) => c.predicate)).toEqual(['tls-min'])
      await expect(client.conflicts({validAt: 'someday'})).rejects.toThrow(`--valid-at "someday" is not a date (from ${h.url})`)
    } finally {
      await h.stop()
    }
  })

  it('a daemon from before the timeline rule (its pages say no overlap) is noted, as it may list timelines as conflicts', async () => {
    const {conflictsPageOp} = await import('../../src/ops/conflicts.js')
    const older = await startHarness({mounts: {conflicts: (deps, q) => conflictsPageOp(deps, {lens: q.lens, minScore: q['min-score'], limit: q.limit ?? 1000, asOf: q['as-of'], validAt: q['valid-at']})}})
    const current = await startHarness()
    try {
      const rule = /runs an older steme, which counts values whose valid ranges never overlap .* as a conflict/
      const fromOlder = await new RemoteClient(older.url, older.read).conflicts({})
      expect(fromOlder.notes?.some((n) => rule.test(n))).toBe(true)
      // At one date both score alike: nothing to say.
      expect((await new RemoteClient(older.url, older.read).conflicts({validAt: '2022-06-01'})).notes ?? []).not.toContainEqual(expect.stringMatching(rule))
      const fromCurrent = await new RemoteClient(current.url, current.read).conflicts({})
      expect(fromCurrent.notes ?? []).not.toContainEqual(expect.stringMatching(rule))
      // The field is the daemon's word to the client, not part of the listing.
      expect(fromCurrent).not.toHaveProperty('overlap')
      const raw = await current.req('/v1/conflicts', {token: current.read})
      expect(raw.body.overlap).toBe(true)
    } finally {
      await older.stop()
      await current.stop()
    }
  })

  it('a daemon from before the score without a date took the highest date (its pages say no instants) is noted, as it may score pairs lower', async () => {
    const {conflictsPageOp} = await import('../../src/ops/conflicts.js')
    // As such a daemon answers: timelines left out (`overlap`), but no `instants`.
    const older = await startHarness({mounts: {conflicts: async (deps, q) => ({...(await conflictsPageOp(deps, {lens: q.lens, minScore: q['min-score'], limit: q.limit ?? 1000, asOf: q['as-of'], validAt: q['valid-at']})), overlap: true})}})
    const current = await startHarness()
    try {
      const rule = /runs an older steme, whose conflict score without a date weighs values with valid ranges by the lens's belief over all dates/
      const timeline = /valid ranges never overlap/
      const fromOlder = await new RemoteClient(older.url, older.read).conflicts({})
      expect(fromOlder.notes?.some((n) => rule.test(n))).toBe(true)
      expect(fromOlder.notes ?? []).not.toContainEqual(expect.stringMatching(timeline))
      // At one date both score alike: nothing to say.
      expect((await new RemoteClient(older.url, older.read).conflicts({validAt: '2022-06-01'})).notes ?? []).not.toContainEqual(expect.stringMatching(rule))
      const fromCurrent = await new RemoteClient(current.url, current.read).conflicts({})
      expect(fromCurrent.notes ?? []).not.toContainEqual(expect.stringMatching(rule))
      expect(fromCurrent).not.toHaveProperty('instants')
      expect((await current.req('/v1/conflicts', {token: current.read})).body.instants).toBe(true)
    } finally {
      await older.stop()
      await current.stop()
    }
  })

  it('a daemon from before the score without a date took each date\'s supersession (no supersessionAtDates) is noted, as it may leave pairs out', async () => {
    const {conflictsPageOp} = await import('../../src/ops/conflicts.js')
    // As such a daemon answers: `overlap` and `instants`, but no `supersessionAtDates`.
    const older = await startHarness({mounts: {conflicts: async (deps, q) => ({...(await conflictsPageOp(deps, {lens: q.lens, minScore: q['min-score'], limit: q.limit ?? 1000, asOf: q['as-of'], validAt: q['valid-at']})), overlap: true, instants: true})}})
    const current = await startHarness()
    try {
      const rule = /runs an older steme, whose conflict score without a date sets a superseded assertion aside at every date/
      const fromOlder = await new RemoteClient(older.url, older.read).conflicts({})
      expect(fromOlder.notes?.some((n) => rule.test(n))).toBe(true)
      // Said once: not the older notes too.
      expect(fromOlder.notes ?? []).not.toContainEqual(expect.stringMatching(/belief over all dates|valid ranges never overlap/))
      expect((await new RemoteClient(older.url, older.read).conflicts({validAt: '2022-06-01'})).notes ?? []).not.toContainEqual(expect.stringMatching(rule))
      const fromCurrent = await new RemoteClient(current.url, current.read).conflicts({})
      expect(fromCurrent.notes ?? []).not.toContainEqual(expect.stringMatching(rule))
      expect(fromCurrent).not.toHaveProperty('supersessionAtDates')
      expect((await current.req('/v1/conflicts', {token: current.read})).body.supersessionAtDates).toBe(true)
    } finally {
      await older.stop()
      await current.stop()
    }
  })

  it('a daemon from before conflicts took valid-at (it drops the parameter) is refused, not believed', async () => {
    // As such a daemon answers: conflicts ranked for every date, with no validAt in the answer.
    const {conflictsOp} = await import('../../src/ops/conflicts.js')
    const h = await startHarness({mounts: {conflicts: (deps, q) => conflictsOp(deps, {lens: q.lens, minScore: q['min-score'], limit: q.limit, asOf: q['as-of']})}})
    try {
      const client = new RemoteClient(h.url, h.read)
      expect((await client.conflicts({})).conflicts).toEqual([])
      const err = await client.conflicts({validAt: '2022-06-01'}).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(UserError)
      expect((err as UserError).message).toBe(`steme serve at ${h.url} does not take --valid-at for conflicts: it answered for every date`)
      expect((err as UserError).hint).toContain('restart `steme serve` with this version')
    } finally {
      await h.stop()
    }
  })
})

describe('auth: every route refuses a missing, malformed, revoked or under-privileged token', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => {
    await h.stop()
  })
  const cases = (h: Harness) => [
    {name: 'no token', header: undefined as string | undefined},
    {name: 'not a bearer header', header: 'Basic dXNlcjpwYXNz'},
    {name: 'empty bearer', header: 'Bearer '},
    {name: 'malformed token', header: 'Bearer stm_short'},
    {name: 'two tokens', header: `Bearer ${h.read} ${h.read}`},
    {name: 'unknown token', header: `Bearer stm_AAAAAAAAAAAA_${'B'.repeat(43)}`},
    {name: 'forged secret for a real id', header: `Bearer ${h.read.slice(0, 17)}${'C'.repeat(43)}`},
    {name: 'revoked token', header: `Bearer ${h.revoked}`},
  ]

  it('the route table matches the OpenAPI document, and every /v1 route but the document itself needs a role', async () => {
    const api = parseYaml(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8'))
    const documented = Object.entries(api.paths as Record<string, Record<string, {summary?: string; security?: unknown[]}>>).flatMap(([p, ops]) =>
      Object.entries(ops).map(([m, op]) => ({key: `${m.toUpperCase()} ${p}`, role: op.security?.length === 0 ? undefined : /\((read|write|admin)\b/.exec(op.summary ?? '')?.[1]})),
    )
    const served = h.server.routes.filter((r) => r.method !== 'HEAD').map((r) => ({key: `${r.method} ${r.url.replace(/:([a-z]+)/g, '{$1}')}`, role: r.role}))
    expect(served.map((r) => r.key).sort()).toEqual(documented.map((d) => d.key).sort())
    for (const r of served) expect(r.role, `${r.key}: the role the OpenAPI summary names`).toBe(documented.find((d) => d.key === r.key)!.role)
    expect(served.filter((r) => !r.role).map((r) => r.key).sort()).toEqual(['GET /healthz', 'GET /v1/openapi.yaml'])
  })

  it('the OpenAPI document gives each route the query parameters its schema takes, with their bounds', () => {
    const api = parseYaml(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8'))
    for (const r of h.server.routes.filter((x) => x.method !== 'HEAD')) {
      const what = `${r.method} ${r.url}`
      const op = api.paths[r.url.replace(/:([a-z]+)/g, '{$1}')][r.method.toLowerCase()]
      const params = new Map<string, Record<string, unknown>>(((op.parameters ?? []) as Array<{name: string; in: string; schema: Record<string, unknown>}>).filter((p) => p.in === 'query').map((p) => [p.name, p.schema]))
      expect([...params.keys()].sort(), what).toEqual(Object.keys(r.query ?? {}).sort())
      for (const [name, schema] of Object.entries(r.query ?? {})) {
        for (const [k, v] of Object.entries(schema)) expect(params.get(name)?.[k], `${what} ${name}.${k}`).toEqual(v)
      }
    }
  })

  it('every protected route, GET and HEAD alike: 401 for each bad token, 403 for the role below, through for its own role', async () => {
    const protectedRoutes = h.server.routes.filter((r) => r.role)
    expect(protectedRoutes.length).toBeGreaterThanOrEqual(11)
    for (const route of protectedRoutes) {
      const {method, path, body} = sample(route)
      const what = `${method} ${route.url}`
      const ctype: Record<string, string> = body ? {'content-type': 'application/json'} : {}
      for (const c of cases(h)) {
        const headers: Record<string, string> = {...ctype}
        if (c.header) headers.authorization = c.header
        const res = await fetch(h.url + path, {method, headers, body})
        expect(res.status, `${what}: ${c.name}`).toBe(401)
        // HEAD answers carry no body; the status is the whole answer.
        if (method !== 'HEAD') expect((await res.json()).error.code, `${what}: ${c.name}`).toBe('unauthorized')
      }
      const below = BELOW[route.role!]
      if (below) {
        const r = await h.req(path, {method, headers: ctype, body, token: h[below]})
        expect(r.status, `${what} with a ${below} token`).toBe(403)
        if (method !== 'HEAD') expectCleanError(r, 'forbidden')
      }
      if (route.url === '/v1/events' && method === 'GET') continue // a stream: covered below
      const r = await h.req(path, {method, headers: ctype, body, token: h[route.role!]})
      expect([401, 403], `${what} with a ${route.role} token`).not.toContain(r.status)
    }
  })

  it('GET /v1/tokens lists tokens for an admin, without hashes', async () => {
    const r = await h.req('/v1/tokens', {token: h.admin})
    expect(r.status).toBe(200)
    expect(r.body.tokens.map((t: {name: string}) => t.name)).toEqual(expect.arrayContaining(['r', 'w', 'a', 'gone']))
    expect(r.text).not.toMatch(/hash/)
    const refused = await h.req('/v1/tokens', {token: h.read})
    expect(refused.status).toBe(403)
    expect(refused.body.error.message).toMatch(/^this route needs an admin token; token \S+ has role read$/)
  })

  it('a token revoked while the daemon runs is refused from the next request', async () => {
    const {token} = h.tokens.create('read', 'short-lived')
    expect((await h.req('/v1/stats', {token})).status).toBe(200)
    h.tokens.revoke('short-lived')
    const r = await h.req('/v1/stats', {token})
    expect(r.status).toBe(401)
    expect(r.body.error.message).toMatch(/revoked/)
  })
})

describe('limits', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({bodyLimit: 64 * 1024, rateLimit: 5, allowAgents: [testKey(1).publicHex]})
  })
  afterAll(async () => {
    await h.stop()
  })

  it('refuses an oversize body with 413 too_large', async () => {
    const big = ndjson(Array.from({length: 400}, (_, i) => assertion({subject: `s:${i}`, value: i})))
    expect(big.length).toBeGreaterThan(64 * 1024)
    const r = await h.req('/v1/records', {method: 'POST', headers: NDJSON, body: big, token: h.write})
    expect(r.status).toBe(413)
    expectCleanError(r, 'too_large')
  })

  it('accepts records only from allowlisted agents', async () => {
    const ok = assertion({subject: 'allow:1'}, testKey(1))
    const other = assertion({subject: 'allow:2'}, testKey(3))
    const r = await h.req('/v1/records', {method: 'POST', headers: NDJSON, body: ndjson([ok, other]), token: h.write})
    expect(r.body).toMatchObject({added: 1, rejected: 1})
    expect(r.body.errors[0]).toMatchObject({line: 2, id: other.record.id})
    expect(r.body.errors[0].reason).toMatch(/allowlist/)
  })

  it('rate-limits per token with 429 rate_limited, other tokens unaffected', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) statuses.push((await h.req('/v1/stats', {token: h.read})).status)
    expect(statuses).toContain(429)
    const limited = await h.req('/v1/stats', {token: h.read})
    expectCleanError(limited, 'rate_limited')
    expect((await h.req('/v1/stats', {token: h.admin})).status).toBe(200)
  })

  it('counts requests with a missing or wrong token per address: 429 with retry-after over the limit; valid tokens unaffected', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await h.req('/v1/stats', {token: `stm_AAAAAAAAAAAA_${String(i).padStart(43, 'B')}`})).status)
    for (let i = 0; i < 4; i++) statuses.push((await h.req('/v1/stats', {token: null})).status)
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401])
    expect(statuses.slice(5)).toEqual([429, 429, 429])
    const limited = await h.req('/v1/records', {method: 'POST', headers: NDJSON, body: '', token: 'stm_nope'})
    expect(limited.status).toBe(429)
    expectCleanError(limited, 'rate_limited')
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await h.req('/v1/stats', {token: h.tokens.create('read', 'fresh').token})).status).toBe(200)
  })
})

describe('the request log', () => {
  it('never holds a token sent in the query string', async () => {
    const log = new PassThrough()
    let text = ''
    log.on('data', (d) => (text += d))
    const h = await startHarness({logger: {level: 'info', stream: log}})
    try {
      const inQuery = await h.req(`/v1/stats?token=${h.read}`, {token: null})
      expect(inQuery.status).toBe(401)
      // Told why, and that the token is best replaced; never shown it back.
      expect(inQuery.body.error.message).toContain('a token in the query string is not accepted')
      expect(inQuery.body.error.hint).toMatch(/revoke a token that was sent in one/)
      expect(inQuery.text).not.toContain(h.read.slice(17))
      const named = await h.req(`/v1/stats?access_token=${encodeURIComponent(h.read)}&x=1`, {token: null})
      expect(named.status).toBe(401)
      expect(named.body.error.message).toContain('a token in the query string is not accepted')
      for (const name of ['authToken', 'api_key', 'auth']) {
        const r = await h.req(`/v1/stats?${name}=abc123`, {token: null})
        expect(r.body.error.message, name).toContain('a token in the query string is not accepted')
      }
      // No token anywhere: the plain refusal, also for names that only contain "auth" or "token".
      expect((await h.req('/v1/stats?x=1', {token: null})).body.error.message).toBe('this route needs a bearer token')
      expect((await h.req('/v1/stats?author=ann&tokenizer=ws', {token: null})).body.error.message).toBe('this route needs a bearer token')
      expect((await h.req(`/v1/query?subject=${h.read}`, {token: h.read})).status).toBe(200)
    } finally {
      await h.stop()
    }
    const secret = h.read.slice(17)
    expect(text).toContain('"url":"/v1/stats?token=[redacted]"')
    expect(text).toContain('"url":"/v1/stats?access_token=[redacted]&x=1"')
    expect(text).toContain('"url":"/v1/query?subject=[redacted]"')
    expect(text).not.toContain(secret)
  })
})

describe('POST /v1/sync push and the agent allowlist', () => {
  it('rejects pushed records from agents not on the allowlist, per record, and keeps the others; the rejected are counted', async () => {
    const h = await startHarness({allowAgents: [testKey(1).publicHex]})
    try {
      const ok = assertion({subject: 'push:ok'}, testKey(1))
      const other = assertion({subject: 'push:evil'}, testKey(3))
      const msg = encode([
        {t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: 'push'}},
        ...[ok, other].map((s) => ({t: T.Record as const, line: recordLine(s.canonical, s.record.id, s.record.sig)})),
      ])
      const res = await fetch(`${h.url}/v1/sync`, {method: 'POST', headers: {'content-type': 'application/x-steme-sync', authorization: `Bearer ${h.write}`}, body: msg})
      expect(res.status).toBe(200)
      const ack = decode(new Uint8Array(await res.arrayBuffer())).find((f) => f.t === T.Ack)
      expect(ack).toMatchObject({added: 1, present: 0, rejected: 1})
      expect(ack && 'errors' in ack ? ack.errors : []).toEqual([{id: other.record.id, reason: expect.stringMatching(/allowlist/)}])
      expect((await h.req(`/v1/records/${ok.record.id}`, {token: h.read})).status).toBe(200)
      expect((await h.req(`/v1/records/${other.record.id}`, {token: h.read})).status).toBe(404)
      // Counted as POST /v1/records counts its rejections: in /metrics and in the totals the status line shows.
      const metrics = await h.req('/metrics', {token: h.read})
      expect(metrics.text).toMatch(/^steme_records_stored_total 1$/m)
      expect(metrics.text).toMatch(/^steme_records_rejected_total 1$/m)
      expect(h.server.metrics.totals).toMatchObject({stored: 1, rejected: 1})
    } finally {
      await h.stop()
    }
  })
})

describe('POST /v1/records, on a daemon of its own', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => {
    await h.stop()
  })

  it('rejects a line that is not UTF-8 and keeps the others; a JSON array holding one is refused whole', async () => {
    const cafe = assertion({subject: 'drink:coffee', predicate: 'name', value: 'café'})
    const ok = assertion({subject: 'drink:tea', predicate: 'name', value: 'tea'})
    // Latin-1 encodes é as the lone byte E9: the record's own text, in the wrong encoding.
    const body = Buffer.concat([Buffer.from(JSON.stringify(cafe.record) + '\n', 'latin1'), Buffer.from(ndjson([ok]))])
    const r = await h.req('/v1/records', {method: 'POST', headers: NDJSON, body})
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({lines: 2, added: 1, rejected: 1})
    expect(r.body.ids.added).toEqual([ok.record.id])
    expect(r.body.errors).toEqual([{line: 1, reason: 'not valid UTF-8 (convert the input to UTF-8)'}])
    const arr = await h.req('/v1/records', {method: 'POST', headers: JSONCT, body: Buffer.from(JSON.stringify([cafe.record]), 'latin1')})
    expect(arr.status).toBe(400)
    expectCleanError(arr, 'invalid_record')
    expect(arr.body.error.message).toMatch(/not valid UTF-8/)
    const stored = await h.req(`/v1/records/${cafe.record.id}`, {token: h.read})
    expect(stored.status).toBe(404)
    // A byte order mark before one pretty-printed object is dropped, as `steme ingest` drops it.
    const bom = await h.req('/v1/records', {method: 'POST', headers: JSONCT, body: '\ufeff' + JSON.stringify(cafe.record, null, 2)})
    expect(bom.body).toMatchObject({added: 1, rejected: 0})
  })

  it('a record repeated in the body is added once and listed as present for each repeat', async () => {
    const a = assertion({subject: 'dup:a'})
    const b = assertion({subject: 'dup:b'})
    await h.req('/v1/records', {method: 'POST', headers: NDJSON, body: ndjson([b]), token: h.write})
    const r = await h.req('/v1/records', {method: 'POST', headers: NDJSON, body: ndjson([a, a, b, a]), token: h.write})
    expect(r.body).toMatchObject({added: 1, present: 3, ids: {added: [a.record.id]}})
    expect(r.body.ids.present.sort()).toEqual([a.record.id, a.record.id, b.record.id].sort())
  })
})

describe('POST /v1/records?detail=counts', () => {
  it('stores through the bulk path: exact counts, every record readable, the stored-records metric', async () => {
    const h = await startHarness()
    try {
      const batch = Array.from({length: 300}, (_, i) => assertion({subject: `bulk:${i % 40}`, value: i}))
      const first = await h.req('/v1/records?detail=counts', {method: 'POST', headers: NDJSON, body: ndjson(batch.slice(0, 200)), token: h.write})
      expect(first.body).toMatchObject({added: 200, present: 0, rejected: 0})
      expect(first.body.ids).toBeUndefined()
      // Half present, half new, and a repeat inside the batch.
      const second = await h.req('/v1/records?detail=counts', {method: 'POST', headers: NDJSON, body: ndjson([...batch.slice(100), batch[250]]), token: h.write})
      expect(second.body).toMatchObject({added: 100, present: 101, rejected: 0})
      expect((await h.req('/v1/stats', {token: h.read})).body.records).toBe(300)
      for (const i of [0, 199, 200, 299]) expect((await h.req(`/v1/records/${batch[i].record.id}`, {token: h.read})).status).toBe(200)
      expect((await h.req('/metrics', {token: h.read})).text).toMatch(/steme_records_stored_total 300\b/)
    } finally {
      await h.stop()
    }
  })
})

describe('GET /v1/events', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => {
    await h.stop()
  })

  it('streams records another client writes, filtered by subject prefix, once each', async () => {
    const ctrl = new AbortController()
    const res = await fetch(`${h.url}/v1/events?subject=drug:`, {headers: {authorization: `Bearer ${h.read}`}, signal: ctrl.signal})
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/)
    const reader = res.body!.getReader()
    const dec = new TextDecoder()
    let buf = ''
    const events: Array<{id: string; data: any}> = []
    const want = [assertion({subject: 'drug:x', value: 1}), assertion({subject: 'drug:y', value: 2})]
    const skip = [assertion({subject: 'food:z', value: 3}), record({kind: 'vote', target: want[0].record.id, weight: 1})]
    // Another client writes; one record twice (the second time it is already present, so no event).
    await h.req('/v1/records', {method: 'POST', headers: NDJSON, body: ndjson([want[0], skip[0]]), token: h.write})
    // Counts only: the bulk column path, which must still announce exactly the new records.
    const counted = await h.req('/v1/records?detail=counts', {method: 'POST', headers: NDJSON, body: ndjson([want[0], skip[1], want[1]]), token: h.write})
    expect(counted.body).toMatchObject({added: 2, present: 1})
    while (events.length < 2) {
      const {value, done} = await reader.read()
      if (done) break
      buf += dec.decode(value)
      let i
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i)
        buf = buf.slice(i + 2)
        const id = /^id: (.*)$/m.exec(block)?.[1]
        const data = /^data: (.*)$/m.exec(block)?.[1]
        if (id && data) events.push({id, data: JSON.parse(data)})
      }
    }
    ctrl.abort()
    expect(events.map((e) => e.id)).toEqual(want.map((w) => w.record.id))
    expect(events[0].data).toEqual(want[0].record)
  })

  it('a token revoked while its stream is open gets no further event: the stream ends, saying why', async () => {
    const {token} = h.tokens.create('read', 'leaked')
    const res = await fetch(`${h.url}/v1/events`, {headers: {authorization: `Bearer ${token}`}, signal: AbortSignal.timeout(10_000)})
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    const dec = new TextDecoder()
    let text = dec.decode((await reader.read()).value)
    expect(text).toContain(': subscribed')
    h.tokens.revoke('leaked')
    const secret = assertion({subject: 'secret:z', value: 42})
    expect((await h.req('/v1/records', {method: 'POST', headers: NDJSON, body: ndjson([secret]), token: h.write})).body.added).toBe(1)
    for (;;) {
      const {value, done} = await reader.read()
      if (done) break
      text += dec.decode(value)
    }
    expect(text).not.toContain(secret.record.id)
    expect(text).toMatch(/event: error\ndata: .*"unauthorized".*revoked/)
  })
})

describe('TLS', () => {
  it('serves HTTPS with --tls-cert/--tls-key', async () => {
    const {execFileSync} = await import('node:child_process')
    const {mkdtempSync, readFileSync, rmSync} = await import('node:fs')
    const {tmpdir} = await import('node:os')
    const {join} = await import('node:path')
    const https = await import('node:https')
    const dir = mkdtempSync(join(tmpdir(), 'steme-tls-'))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], {stdio: 'ignore'})
    const cert = readFileSync(join(dir, 'cert.pem'))
    const h = await startHarness({https: {cert, key: readFileSync(join(dir, 'key.pem'))}})
    try {
      expect(h.url).toMatch(/^https:/)
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get(`${h.url}/v1/stats`, {ca: cert, headers: {authorization: `Bearer ${h.read}`}}, (res) => {
            let t = ''
            res.on('data', (d) => (t += d))
            res.on('end', () => resolve(t))
          })
          .on('error', reject)
      })
      expect(JSON.parse(body).records).toBe(0)
      // The CLI's client, on a machine that does not trust the certificate, says what to do about it.
      const err = await new RemoteClient(h.url, h.read).request('GET', '/v1/stats').catch((e: UserError) => e)
      expect(err).toMatchObject({code: 'remote', message: expect.stringMatching(/cannot reach steme serve at https:.*SELF_SIGNED/)})
      expect((err as UserError).hint).toMatch(/NODE_EXTRA_CA_CERTS/)
      // So does sync over HTTPS, at once: asking again meets the same certificate.
      const sync = openHttpTransport('team', h.url, {headers: {authorization: `Bearer ${h.read}`}})
      const serr = await sync.request(new Uint8Array([0])).catch((e: unknown) => e)
      await sync.close()
      expect(serr).toBeInstanceOf(UserError)
      expect(serr).toMatchObject({code: 'remote', message: expect.stringMatching(/^remote team: cannot reach https:.*SELF_SIGNED/)})
      expect((serr as UserError).hint).toMatch(/NODE_EXTRA_CA_CERTS/)
    } finally {
      await h.stop()
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('the CLI client (RemoteClient)', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => {
    await h.stop()
  })

  it('takes a URL copied with /v1 on it as the base URL', async () => {
    const c = new RemoteClient(`${h.url}/v1/`, h.read)
    expect(c.url).toBe(h.url)
    expect(await c.request('GET', '/v1/stats')).toMatchObject({records: 0})
  })

  it('a refused token gets a hint about --token and STEME_TOKEN, exit 2', async () => {
    const err = await new RemoteClient(h.url, `stm_${'a'.repeat(12)}_${'b'.repeat(43)}`).request('GET', '/v1/stats').catch((e: UserError) => e)
    expect(err).toMatchObject({exit: 2, hint: expect.stringMatching(/^check --token or STEME_TOKEN/)})
  })
})

describe('steme log through a daemon, page by page', () => {
  it('gives every record of a log longer than a page, once each and in order, where a page ends inside a run of records sharing one stamp', async () => {
    const h = await startHarness()
    try {
      const keys = [1, 2, 3, 4].map((n) => testKey(n))
      const rs = Array.from({length: 40}, (_, i) => assertion({subject: `s:${i % 3}`, value: i, hlc: `00000190000000${String(10 + Math.floor(i / 6)).padStart(2, '0')}-0000`}, keys[i % 4]))
      await h.rt.store.insert(rs)
      const all: string[] = []
      for await (const b of h.rt.store.scan()) for (const s of b) all.push(s.record.id)
      const client = new RemoteClient(h.url, h.read)
      const paged = async (input: {subject?: string; since?: string; limit?: number}, page: number) => {
        const out: string[] = []
        for await (const b of client.logPages(input, page)) for (const r of b) out.push(r.id)
        return out
      }
      // Runs of 6 records share a stamp: pages of 2, 4, 5 and 7 end inside them, or hold less than one.
      for (const page of [2, 4, 5, 7, 100]) {
        expect(await paged({}, page), `pages of ${page}`).toEqual(all)
        expect(await paged({limit: 17}, page), `limit, pages of ${page}`).toEqual(all.slice(0, 17))
        const since = rs[13].record.hlc
        expect(await paged({since}, page), `since, pages of ${page}`).toEqual(all.filter((id) => rs.find((r) => r.record.id === id)!.record.hlc > since))
        expect(await paged({subject: 's:1'}, page), `subject, pages of ${page}`).toEqual(all.filter((id) => rs.find((r) => r.record.id === id)!.record.subject === 's:1'))
      }
    } finally {
      await h.stop()
    }
  })
})
