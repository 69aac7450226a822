/** Request ids: every answer names its request, the log lines of that request carry the same id, and a restart does not reuse them. */
import {PassThrough} from 'node:stream'
import {afterEach, describe, expect, it} from 'vitest'
import {startHarness, type Harness} from './harness.js'

const harnesses: Harness[] = []
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop()
})

/** A daemon whose JSON log lines are kept, parsed. */
async function logged(opts: Parameters<typeof startHarness>[0] = {}): Promise<{h: Harness; lines: () => Array<Record<string, unknown>>}> {
  const stream = new PassThrough()
  let text = ''
  stream.on('data', (d) => (text += d))
  const h = await startHarness({logger: {level: 'info', stream}, ...opts})
  harnesses.push(h)
  return {h, lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)}
}

describe('request ids', () => {
  it('every answer carries x-request-id, and the log lines of that request carry the same id', async () => {
    const {h, lines} = await logged()
    const ok = await h.req('/v1/stats', {token: h.read})
    const refused = await h.req('/v1/stats', {token: null})
    const missing = await h.req('/v1/nowhere', {token: h.read})
    const health = await h.req('/healthz')
    const ids = [ok, refused, missing, health].map((r) => r.headers.get('x-request-id'))
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]+-\d+$/)
    expect(new Set(ids).size).toBe(4)
    // The event stream writes its own headers: it names its request too.
    const ac = new AbortController()
    const events = await fetch(`${h.url}/v1/events`, {headers: {authorization: `Bearer ${h.read}`}, signal: ac.signal})
    expect(events.headers.get('x-request-id')).toMatch(/^[0-9a-z]+-\d+$/)
    ac.abort()
    await events.body?.cancel().catch(() => undefined)
    const completed = lines().filter((l) => l.msg === 'request completed')
    expect(completed.find((l) => l.reqId === ids[1])).toMatchObject({res: {statusCode: 401}})
    expect(completed.find((l) => l.reqId === ids[0])).toMatchObject({res: {statusCode: 200}})
  })

  it('a daemon started again does not hand out the ids of the one before', async () => {
    const first = await logged()
    const a = (await first.h.req('/v1/stats', {token: first.h.read})).headers.get('x-request-id')
    const second = await logged()
    const b = (await second.h.req('/v1/stats', {token: second.h.read})).headers.get('x-request-id')
    expect(a).not.toBe(b)
  })

  it('a 500 tells the client which request id to look for in the log', async () => {
    const {h, lines} = await logged()
    // A store that fails under the daemon: the answer is a 500, its details only in the log.
    const stats = h.rt.store.stats.bind(h.rt.store)
    h.rt.store.stats = async () => {
      throw new Error('disk on fire')
    }
    try {
      const r = await h.req('/v1/stats', {token: h.read})
      expect(r.status).toBe(500)
      const id = r.headers.get('x-request-id')
      expect(r.body.error.code).toBe('internal')
      expect(r.body.error.message).toContain(`request id ${id}`)
      expect(r.body.error.message).not.toContain('disk on fire')
      const failed = lines().find((l) => l.msg === 'request failed')
      expect(failed?.reqId).toBe(id)
      expect(JSON.stringify(failed)).toContain('disk on fire')
    } finally {
      h.rt.store.stats = stats
    }
  })
})
