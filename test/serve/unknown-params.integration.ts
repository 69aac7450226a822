/** Query parameters a route does not declare are refused (400, naming them), not dropped: over real HTTP, and the CLI's own clients never send one. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RemoteClient} from '../../src/serve/client.js'
import {assertion, testKey} from '../helpers/records.js'
import {ndjson, startHarness, type Harness} from './harness.js'

describe('unknown query parameters', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
    const k = testKey(1)
    const r = await h.req('/v1/records', {method: 'POST', headers: {'content-type': 'application/x-ndjson'}, body: ndjson([assertion({subject: 's', value: 1}, k), assertion({subject: 's', value: 2}, testKey(2)), assertion({subject: 't', value: 1}, k), assertion({subject: 't', value: 2}, testKey(2))]), token: h.write})
    expect(r.status, r.text).toBe(200)
  })
  afterAll(async () => {
    await h.stop()
  })

  it('a misspelt parameter is refused with the nearest one it takes, not answered as if it were absent', async () => {
    const r = await h.req('/v1/query?subject=s&limt=5', {token: h.read})
    expect(r.status, r.text).toBe(400)
    expect(r.body.error.code).toBe('bad_request')
    expect(r.body.error.message).toBe('query parameter "limt" is not one GET /v1/query takes')
    const log = await h.req('/v1/log?limt=5', {token: h.read})
    expect(log.status, log.text).toBe(400)
    expect(log.body.error.message).toBe('query parameter "limt" is not one GET /v1/log takes; did you mean limit?')
    expect(log.body.error.hint).toMatch(/^it takes subject, since, after, limit \(see GET \/v1\/openapi\.yaml\)/)
    const conflicts = await h.req('/v1/conflicts?valid_at=2025-01-01', {token: h.read})
    expect(conflicts.status, conflicts.text).toBe(400)
    expect(conflicts.body.error.message).toMatch(/^query parameter "valid_at" is not one GET \/v1\/conflicts takes; did you mean valid-at\?$/)
    const events = await h.req('/v1/events?subjet=drug:', {token: h.read})
    expect(events.status, events.text).toBe(400)
    expect(events.body.error.message).toBe('query parameter "subjet" is not one GET /v1/events takes; did you mean subject?')
  })

  it('routes that take no parameters refuse any, before a body is read or a record stored', async () => {
    for (const path of ['/v1/stats?x=1', '/v1/tokens?verbose=1']) {
      const r = await h.req(path)
      expect(r.status, `${path}: ${r.text}`).toBe(400)
      expect(r.body.error.message, path).toMatch(/^query parameter "[a-z]+" is not one (GET|HEAD) \S+ takes$/)
      expect(r.body.error.hint, path).toMatch(/^it takes no query parameters/)
    }
    const before = (await h.req('/v1/stats')).body.records
    const post = await h.req('/v1/records?detial=ids', {method: 'POST', headers: {'content-type': 'application/x-ndjson'}, body: ndjson([assertion({subject: 't', value: 3}, testKey(3))]), token: h.write})
    expect(post.status, post.text).toBe(400)
    expect(post.body.error.message).toBe('query parameter "detial" is not one POST /v1/records takes; did you mean detail?')
    expect((await h.req('/v1/stats')).body.records).toBe(before)
    const verify = await h.req('/v1/verify?dry=1', {method: 'POST', headers: {'content-type': 'application/json'}, body: '{}', token: h.read})
    expect(verify.status, verify.text).toBe(400)
  })

  it('the public routes answer whatever their query says: a probe or a cache-buster must not find the daemon down', async () => {
    const health = await h.req('/healthz?probe=1&_=1712')
    expect(health.status, health.text).toBe(200)
    expect(health.body).toEqual({status: 'ok'})
    // Even one that is not valid percent-encoding: a probe's query is not read.
    for (const path of ['/healthz?_=100%', '/healthz?%zz', '/healthz?x=%FF']) {
      const r = await h.req(path)
      expect(r.status, `${path}: ${r.text}`).toBe(200)
    }
    expect((await h.req('/v1/openapi.yaml?v=%FF')).status).toBe(200)
    // /metrics needs a token, but a scraper adds its own parameters (Prometheus' `params`): no error.
    const metrics = await h.req('/metrics?format=json&name%5B%5D=x&_=100%', {token: h.read})
    expect(metrics.status, metrics.text).toBe(200)
    expect(metrics.text).toMatch(/^# HELP /m)
    const spec = await h.req('/v1/openapi.yaml?v=2')
    expect(spec.status, spec.text).toBe(200)
    expect(spec.text).toMatch(/^openapi: /m)
  })

  it('auth comes first, and a path the daemon does not serve is still 404 or 405', async () => {
    expect((await h.req('/v1/query?subject=s&limt=5', {token: null})).status).toBe(401)
    expect((await h.req('/v1/nothing?x=1')).status).toBe(404)
    expect((await h.req('/v1/events?x=1', {method: 'POST'})).status).toBe(405)
  })

  it('a name that is not valid percent-encoding is said to be so, and an empty name is named as such', async () => {
    const bad = await h.req('/v1/stats?%zz=1')
    expect(bad.status, bad.text).toBe(400)
    expect(bad.body.error.message).toMatch(/is not valid percent-encoding/)
    const empty = await h.req('/v1/stats?=1')
    expect(empty.status, empty.text).toBe(400)
    expect(empty.body.error.message).toBe('a query parameter with an empty name is not one GET /v1/stats takes')
  })

  it("the CLI's client sends only parameters each route declares, with every option it has set", async () => {
    const c = new RemoteClient(h.url, h.write)
    await c.query({subject: 's', predicate: 'p', lens: 'recency', asOf: '2030-01-01', validAt: '2025-01-01', includeRetracted: true})
    await c.conflicts({lens: 'recency', minScore: 0.1, limit: 5, asOf: '2030-01-01', validAt: '2025-01-01'})
    // Pages of one pair: the second asks after the first.
    expect((await c.conflicts({minScore: 0.1, asOf: '2030-01-01', validAt: '2025-01-01'}, 1)).conflicts).toHaveLength(2)
    for await (const _ of c.logPages({subject: 's', since: '2000-01-01', limit: 1}, 1)) void _
    await c.log({subject: 's', since: '2000-01-01', after: `${'0'.repeat(16)}-0000/${'0'.repeat(64)}`, limit: 1})
    await c.stats()
    await c.postRecords(ndjson([assertion({subject: 'u', value: 4}, testKey(4))]), 'ids')
    await c.postRecords(ndjson([assertion({subject: 'u', value: 5}, testKey(5))]), 'counts')
    await c.verify({claims: '', observations: []})
  })
})
