/**
 * Fuzzing the daemon's HTTP API: generated malformed bodies for every body route and malformed
 * query strings and paths for every GET route, taken from the server's own route table. The
 * bulk goes in-process (fastify inject), a slice over real HTTP. Zero 5xx, zero crashes, zero
 * invalid records stored; every error a 4xx with a stable code and a message, never a stack.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import fc from 'fast-check'
import {initHash} from '../../src/core/hash.js'
import {checkRecord, recordLine} from '../../src/core/seal.js'
import {STATUS} from '../../src/serve/errors.js'
import {assertion, record, testKey} from '../helpers/records.js'
import {FULL, report} from '../helpers/report.js'
import {ndjson, startHarness, type Harness} from '../serve/harness.js'

const BODIES = FULL ? 25_000 : 4_000
const QUERIES = FULL ? 25_000 : 1_500
const OVER_HTTP = FULL ? 2_000 : 150
const PER = 50

let h: Harness
const seeded = [assertion({subject: 'drug:aspirin', value: 0.1}), assertion({subject: 'drug:aspirin', value: 0.2}, testKey(2)), record({kind: 'epoch', name: 'e', starts: '2024-01-01'})]
const goodLines = seeded.map((s) => recordLine(s.canonical, s.record.id, s.record.sig))
/** Routes answering 501 not_implemented to a well-formed request (an op not mounted in this build): 501 is their only answer. */
const unmounted = new Set<string>()

beforeAll(async () => {
  await initHash()
  h = await startHarness({rateLimit: 0})
  const r = await h.req('/v1/records', {method: 'POST', headers: {'content-type': 'application/x-ndjson'}, body: ndjson(seeded), token: h.write})
  expect(r.body.added).toBe(seeded.length)
  for (const route of h.server.routes.filter((x) => x.method === 'POST')) {
    const res = await h.server.app.inject({method: 'POST', url: route.url, headers: {authorization: `Bearer ${h.admin}`, 'content-type': 'application/json'}, payload: '{}'})
    if (res.statusCode === 501) unmounted.add(route.url)
  }
})
afterAll(async () => {
  await h?.stop()
})

interface Outcome {
  status: number
  text: string
  contentType: string
}

const tally = {crashes: 0, fiveXX: 0, inputs: 0}

/** The checks every answer to a malformed input must pass. */
function expectClean(where: string, o: Outcome, url: string): void {
  const path = url.split('?')[0]
  if (o.status >= 500) {
    if (o.status === 501 && unmounted.has(path)) return
    tally.fiveXX++
  }
  expect(o.status, `${where}: ${o.text.slice(0, 300)}`).toBeLessThan(500)
  expect(o.text, where).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|\.js:\d+|Maximum call stack/)
  if (o.status < 400 || o.text === '') return // a HEAD answer has no body
  expect(o.contentType, where).toMatch(/application\/json/)
  const body = JSON.parse(o.text)
  expect(Object.keys(STATUS), `${where}: ${o.text}`).toContain(body.error?.code)
  expect(typeof body.error.message, where).toBe('string')
  expect(body.error.message.length, where).toBeGreaterThan(0)
}

async function inject(method: string, url: string, headers: Record<string, string>, payload?: string | Uint8Array): Promise<Outcome> {
  tally.inputs++
  let res
  try {
    // payloadAsStream: an SSE answer resolves at its headers; the stream is then dropped.
    res = await h.server.app.inject({method: method as 'GET', url, headers, payload: payload as string, payloadAsStream: true})
  } catch (e) {
    tally.crashes++
    throw e
  }
  let text = ''
  if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) res.stream().destroy()
  else for await (const chunk of res.stream()) text += chunk
  return {status: res.statusCode, text, contentType: String(res.headers['content-type'] ?? '')}
}

async function overHttp(method: string, url: string, headers: Record<string, string>, payload?: string | Uint8Array): Promise<Outcome> {
  tally.inputs++
  const ctrl = new AbortController()
  const res = await fetch(h.url + url, {method, headers, body: payload as BodyInit | undefined, signal: ctrl.signal})
  const contentType = res.headers.get('content-type') ?? ''
  if (contentType.startsWith('text/event-stream')) {
    ctrl.abort()
    return {status: res.status, text: '', contentType}
  }
  return {status: res.status, text: await res.text(), contentType}
}

// ---- generators ----

const hex = (n: number) => fc.string({unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n})
const nasty = fc.constantFrom('1e999', '-1e999', 'NaN', 'Infinity', '-0', '0x10', '1_000', ' 5', '9'.repeat(400), '', '%', '%Z', '%ZZ', '%E0%A4', '%00', '%FF', '%C0%80', '%ED%A0%80', '\u0000', '\ud800', '__proto__', 'constructor', '[]', '{}', 'null', 'true', '((', 'consensus(', 'recency(x=1e999)', '2024-13-45', '0000019aa3c4d5e6-0000', 'ffffffffffffffff-ffff')
const scalar = fc.oneof(fc.string({maxLength: 40}), fc.string({unit: 'binary', maxLength: 20}), nasty, fc.double().map(String), fc.integer().map(String), hex(64), fc.string({maxLength: 2000}).map((s) => s.repeat(3)))

/** JSON nested `depth` levels, of arrays or objects, sometimes inside a record-shaped object. */
const deep = fc.tuple(fc.integer({min: 40, max: 3_000}), fc.boolean(), fc.boolean()).map(([d, arrays, inRecord]) => {
  const inner = arrays ? '['.repeat(d) + ']'.repeat(d) : '{"a":'.repeat(d) + '1' + '}'.repeat(d)
  return inRecord ? goodLines[0].replace(/"value":[^,]+/, `"value":${inner}`) : inner
})
/** A valid record line with a few random edits (insert, replace, delete). */
const mutated = fc.tuple(fc.constantFrom(...goodLines), fc.array(fc.tuple(fc.nat(), fc.nat({max: 2}), fc.string({maxLength: 3})), {minLength: 1, maxLength: 4})).map(([line, edits]) => {
  let s = line
  for (const [pos, op, text] of edits) {
    const i = pos % (s.length + 1)
    s = op === 0 ? s.slice(0, i) + text + s.slice(i + 1) : op === 1 ? s.slice(0, i) + text + s.slice(i) : s.slice(0, i) + s.slice(i + 1)
  }
  return s
})
const recordish = fc
  .dictionary(fc.constantFrom('v', 'kind', 'agent', 'hlc', 'id', 'sig', 'subject', 'predicate', 'value', 'confidence', 'target', 'weight', 'claims', 'observations'), fc.oneof(fc.jsonValue({maxDepth: 3}), scalar, fc.constantFrom(1, 0.5, 1e308, -1, 'assertion')), {maxKeys: 8})
  .map((o) => JSON.stringify(o))
const line = fc.oneof(fc.string({maxLength: 80}), fc.jsonValue({maxDepth: 4}).map((v) => JSON.stringify(v) ?? 'null'), mutated, recordish, deep, nasty, fc.constantFrom(...goodLines))
const textBody = fc.oneof(
  fc.array(line, {maxLength: 6}).map((ls) => ls.join('\n')),
  fc.array(line, {maxLength: 6}).map((ls) => '[' + ls.join(',') + (ls.length % 3 === 0 ? '' : ']')),
  line,
  fc.constantFrom('', ' ', '\n\n', '[', ']', '[]', '{', '{}', 'null', '[null]', '[1e999]', '[NaN]', '"\\ud800"', '\ufeff[]'),
)
const body = fc.oneof({weight: 5, arbitrary: textBody}, {weight: 1, arbitrary: fc.uint8Array({maxLength: 300})})
const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-steme-sync', 'text/plain', 'text/csv', 'application/octet-stream', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/JSON', '', ';;;', 'application/x-www-form-urlencoded')

/** A value placed in a URL: encoded properly, or raw with only the characters HTTP forbids escaped (so bad % sequences survive). */
const urlPart = (raw: string, encode: boolean, v = Buffer.from(raw).toString()) => (encode ? encodeURIComponent(v) : v.replace(/[^A-Za-z0-9\-._~%:+,;=!*'()@$/[\]]/gu, (c) => encodeURIComponent(c).replace(/%25/g, '%')))

/** Pairs of known and unknown keys with malformed values, half the time after a well-formed base so the op itself runs. */
function queryGen(keys: string[], base: string) {
  const key = fc.oneof({weight: 4, arbitrary: fc.constantFrom(...keys)}, {weight: 1, arbitrary: fc.oneof(fc.string({maxLength: 10}), fc.constantFrom('subject[]', 'limit[0]', '__proto__', 'constructor', 'a.b', ''))})
  const pairs = fc.array(fc.tuple(key, scalar, fc.boolean(), fc.boolean()), {maxLength: 4}).map((ps) => ps.map(([k, v, enc, bare]) => (bare && v === '' ? urlPart(k, enc) : `${urlPart(k, enc)}=${urlPart(v, enc)}`)))
  return fc.tuple(fc.boolean(), pairs).map(([withBase, ps]) => [...(withBase && base ? [base] : []), ...ps].join('&'))
}

// ---- the suites ----

function queryRoutes() {
  const gets = h.server.routes.filter((r) => r.method === 'GET' && r.role)
  return gets.map((r) => {
    const schema = (h.server.app as unknown as {findRoute(o: {method: string; url: string}): {schema?: {querystring?: {properties?: object}}} | null}).findRoute({method: 'GET', url: r.url})
    const keys = Object.keys(schema?.schema?.querystring?.properties ?? {})
    // Routes without parameters get a share of the cases too, but they have less to get wrong.
    return {url: r.url, keys: keys.concat('x'), weight: keys.length || r.url.includes(':') ? 4 : 1, base: r.url === '/v1/query' ? 'subject=drug%3Aaspirin' : ''}
  })
}

function pathFor(url: string, idPart: string): string {
  return url.replace(/:[a-z]+/g, idPart)
}

const idPart = fc.oneof(hex(64), hex(63), fc.string({maxLength: 300}), nasty, fc.string({unit: fc.constantFrom('a', '%', 'Z', '0', 'E'), maxLength: 260}), fc.constant('a'.repeat(201)))

function queryCase() {
  const routes = queryRoutes()
  expect(routes.map((r) => r.url)).toEqual(expect.arrayContaining(['/v1/query', '/v1/log', '/v1/conflicts', '/v1/records/:id', '/v1/events']))
  return fc.oneof(
    ...routes.map((r) => ({
      weight: r.weight,
      arbitrary: fc.tuple(fc.constantFrom('GET', 'GET', 'GET', 'HEAD'), queryGen(r.keys, r.base), idPart, fc.boolean()).map(([method, q, id, encodeId]) => ({method, url: `${pathFor(r.url, urlPart(id, encodeId))}${q ? '?' + q : ''}`})),
    })),
  )
}

function bodyCase() {
  const posts = h.server.routes.filter((r) => r.method === 'POST').map((r) => r.url)
  expect(posts).toEqual(expect.arrayContaining(['/v1/records', '/v1/sync', '/v1/verify']))
  return fc.tuple(fc.constantFrom(...posts), fc.constantFrom('POST', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE'), contentType, body, fc.constantFrom('', '', '?detail=counts', '?detail=nope', '?detail=%ZZ')).map(([url, method, ct, payload, q]) => ({url: url + q, method, ct, payload}))
}

async function invalidStored(): Promise<number> {
  let bad = 0
  for await (const batch of h.rt.store.scan()) {
    for (const s of batch) {
      try {
        checkRecord(JSON.parse(recordLine(s.canonical, s.record.id, s.record.sig)), {nowMs: Date.now(), skewMs: 60_000})
      } catch {
        bad++
      }
    }
  }
  return bad
}

describe('fuzzing the HTTP API', () => {
  it(`${QUERIES} malformed query strings and paths on every GET route (in-process), GET and HEAD`, {timeout: 300_000}, async () => {
    const auth = {authorization: `Bearer ${h.admin}`}
    const start = tally.inputs
    await fc.assert(
      fc.asyncProperty(fc.array(queryCase(), {minLength: PER, maxLength: PER}), async (cases) => {
        for (const c of cases) expectClean(`${c.method} ${c.url}`, await inject(c.method, c.url, auth), c.url)
      }),
      {numRuns: QUERIES / PER},
    )
    report({suite: 'fuzz HTTP query strings', inputs: tally.inputs - start, crashes: tally.crashes + tally.fiveXX})
  })

  it(`${BODIES} malformed bodies on every body route (in-process); nothing invalid stored`, {timeout: 300_000}, async () => {
    const start = tally.inputs
    await fc.assert(
      fc.asyncProperty(fc.array(bodyCase(), {minLength: PER, maxLength: PER}), async (cases) => {
        for (const c of cases) {
          const headers: Record<string, string> = {authorization: `Bearer ${h.write}`}
          if (c.ct) headers['content-type'] = c.ct
          expectClean(`${c.method} ${c.url} (${c.ct}) ${String(c.payload).slice(0, 120)}`, await inject(c.method, c.url, headers, c.payload), c.url)
        }
      }),
      {numRuns: BODIES / PER},
    )
    const invalid = await invalidStored()
    expect(invalid).toBe(0)
    report({suite: 'fuzz HTTP bodies', inputs: tally.inputs - start, crashes: tally.crashes + tally.fiveXX, invalidStored: invalid})
  })

  it(`${OVER_HTTP * 2} of the same over real HTTP`, {timeout: 120_000}, async () => {
    const start = tally.inputs
    const q = fc.sample(queryCase(), OVER_HTTP)
    for (const c of q) expectClean(`${c.method} ${c.url}`, await overHttp(c.method, c.url, {authorization: `Bearer ${h.admin}`}), c.url)
    const b = fc.sample(bodyCase(), OVER_HTTP)
    for (const c of b) {
      const headers: Record<string, string> = {authorization: `Bearer ${h.write}`}
      if (c.ct) headers['content-type'] = c.ct
      expectClean(`${c.method} ${c.url} (${c.ct})`, await overHttp(c.method, c.url, headers, c.payload), c.url)
    }
    const invalid = await invalidStored()
    expect(invalid).toBe(0)
    expect((await h.req('/healthz', {token: null})).status).toBe(200)
    report({suite: 'fuzz HTTP (real sockets)', inputs: tally.inputs - start, crashes: tally.crashes + tally.fiveXX, invalidStored: invalid})
  })

  it('the bugs fuzzing found stay fixed', async () => {
    const auth = {authorization: `Bearer ${h.read}`}
    const cases: Array<[string, number, string]> = [
      ['/v1/records/%ZZ', 400, 'bad_request'],
      ['/v1/records/%E0%A4%A', 400, 'bad_request'],
      [`/v1/records/${'a'.repeat(300)}`, 400, 'bad_request'],
      ['/v1/log?limit=1e999', 400, 'bad_request'],
      ['/v1/log?limit=NaN', 400, 'bad_request'],
      ['/v1/conflicts?min-score=1e999', 400, 'bad_request'],
      ['/v1/conflicts?limit=Infinity', 400, 'bad_request'],
    ]
    for (const [url, status, code] of cases) {
      const o = await inject('GET', url, auth)
      expect(o.status, url).toBe(status)
      expect(JSON.parse(o.text).error.code, url).toBe(code)
    }
    // HEAD of the event stream answers at once instead of holding the connection open.
    const head = await overHttp('HEAD', '/v1/events', auth)
    expect(head.status).toBe(200)
    // A record whose value nests 10,000 levels: rejected for its depth, in both formats, next to a good record that is kept.
    const fresh = assertion({subject: 'deep:ok'})
    const deepLine = goodLines[1].replace(/"value":[^,]+/, `"value":${'['.repeat(10_000)}${']'.repeat(10_000)}`)
    for (const [ct, payload] of [
      ['application/x-ndjson', `${deepLine}\n${ndjson([fresh])}`],
      ['application/json', `[${deepLine},${ndjson([fresh]).trim()}]`],
    ]) {
      const o = await inject('POST', '/v1/records', {authorization: `Bearer ${h.write}`, 'content-type': ct}, payload)
      expect(o.status, ct).toBe(200)
      const res = JSON.parse(o.text)
      expect(res.errors, ct).toEqual([{line: 1, reason: expect.stringMatching(/deeper than the bound of 64 levels/)}])
      expect(res.added + res.present, ct).toBe(1)
    }
  })
})
