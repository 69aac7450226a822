/** Paging GET /v1/log through a real `steme serve`: the exact cursor (`next`, `after`), and the CLI against daemons with and without it. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {SignedRecord} from '../../src/core/record.js'
import type {Sealed} from '../../src/core/seal.js'
import {RemoteClient} from '../../src/serve/client.js'
import {assertion, stamp, testKey} from '../helpers/records.js'
import {makeEnv, startDaemon, steme, type Daemon, type Env} from './daemon.js'
import {ndjson} from './harness.js'
import {routeProxy, type RouteProxy} from './route-proxy.js'
import {rmSync} from 'node:fs'

/**
 * 31 records in runs sharing one stamp, of 1 to 7 records (agents stamp independently): every
 * page size below ends inside some run. Different agents, so the ids in a run are in no order of
 * their own.
 */
function recordsInRuns(): Sealed[] {
  const runs = [1, 7, 2, 5, 1, 3, 6, 4, 2]
  const out: Sealed[] = []
  let wall = 1_760_000_000_000
  for (const n of runs) {
    for (let i = 0; i < n; i++) out.push(assertion({subject: `s:${out.length % 3}`, value: out.length, hlc: stamp(wall, 0)}, testKey(1 + i)))
    wall += 1000
  }
  return out
}


/**
 * A proxy in front of a daemon that notes the GET /v1/log requests (to see what the client asks).
 * With `old`, it is a daemon from before `after` and `next`, as its clients see one: the request
 * goes on without the parameter it does not know (fastify ignores it), and the answer has no
 * `next`. Every other request passes as it is.
 */
async function logProxy(upstream: string, old: boolean): Promise<RouteProxy> {
  return routeProxy(upstream, '/v1/log', {
    active: () => old,
    request: (u) => u.searchParams.delete('after'),
    answer: (page) => delete page.next,
  })
}

describe('GET /v1/log pages exactly with after=<next>, against a real steme serve', () => {
  let e: Env
  let d: Daemon
  let rs: Sealed[]
  /** Every record in log order, as the daemon's store scans it. */
  let all: SignedRecord[]
  const get = async (path: string) => {
    const res = await fetch(d.url + path, {headers: {authorization: `Bearer ${d.token}`}})
    return {status: res.status, body: (await res.json()) as {records: SignedRecord[]; next?: string; error?: {code: string; message: string}}}
  }

  beforeAll(async () => {
    e = makeEnv('steme-log-pages-')
    expect((await steme(e, ['init', '--dir', e.dir])).code).toBe(0)
    d = await startDaemon(e)
    rs = recordsInRuns()
    // Stored out of log order, as records from several agents and peers arrive.
    const posted = await fetch(`${d.url}/v1/records`, {method: 'POST', headers: {authorization: `Bearer ${d.token}`, 'content-type': 'application/x-ndjson'}, body: ndjson([...rs].reverse())})
    expect(posted.status).toBe(200)
    all = (await get('/v1/log')).body.records
    expect(all.map((r) => r.id).sort()).toEqual(rs.map((s) => s.record.id).sort())
  })
  afterAll(async () => {
    await d?.stop()
    rmSync(e.dir, {recursive: true, force: true})
  })

  /** Every page from the start, following `next`: each page as it came. */
  const pages = async (query: string, size: number) => {
    const out: SignedRecord[][] = []
    let after: string | undefined
    for (let i = 0; i < 100; i++) {
      const r = await get(`/v1/log?limit=${size}${query}${after ? `&after=${encodeURIComponent(after)}` : ''}`)
      expect(r.status).toBe(200)
      out.push(r.body.records)
      // A full page says where the next starts: its last record; a short one ends the log.
      if (r.body.records.length === size) expect(r.body.next).toBe(`${r.body.records[size - 1].hlc}/${r.body.records[size - 1].id}`)
      else expect(r.body.next).toBeUndefined()
      if (r.body.next === undefined) return out
      after = r.body.next
    }
    throw new Error('paging did not end')
  }

  it('every page size from 1 to past the whole log gives every record exactly once, in log order, with no skipping on the client', async () => {
    expect(all.map((r) => r.hlc)).toEqual([...all.map((r) => r.hlc)].sort())
    for (let size = 1; size <= all.length + 1; size++) {
      const got = await pages('', size)
      expect(got.flat().map((r) => r.id), `pages of ${size}`).toEqual(all.map((r) => r.id))
      expect(got.slice(0, -1).every((p) => p.length === size), `pages of ${size} are full but the last`).toBe(true)
    }
  })

  it('after= goes with since= and subject=, each narrowing as alone', async () => {
    const since = all[9].hlc
    const sub = 's:1'
    for (const size of [1, 2, 3, 5, 8]) {
      expect((await pages(`&since=${since}`, size)).flat().map((r) => r.id), `since, pages of ${size}`).toEqual(all.filter((r) => r.hlc > since).map((r) => r.id))
      expect((await pages(`&subject=${sub}`, size)).flat().map((r) => r.id), `subject, pages of ${size}`).toEqual(all.filter((r) => r.kind === 'assertion' && r.subject === sub).map((r) => r.id))
    }
  })

  it('an after= that is not a place in the log is a 400 naming the parameter; since= alone answers as before', async () => {
    for (const bad of ['nope', `${all[0].hlc}`, `${all[0].hlc}/${all[0].id.toUpperCase()}`, `${all[0].id}/${all[0].hlc}`]) {
      const r = await get(`/v1/log?after=${encodeURIComponent(bad)}`)
      expect(r.status, bad).toBe(400)
      expect(r.body.error).toMatchObject({code: 'usage', message: `query parameter after "${bad}" is not a place in the log`})
    }
    // The old way still works: since= is strictly above a stamp, with or without after.
    expect((await get(`/v1/log?since=${all[2].hlc}`)).body.records.map((r) => r.id)).toEqual(all.filter((r) => r.hlc > all[2].hlc).map((r) => r.id))
  })

  it('the CLI client pages on the cursor: no record is sent twice', async () => {
    const proxy = await logProxy(d.url, false)
    try {
      const client = new RemoteClient(proxy.url, d.token)
      for (const page of [1, 2, 3, 4, 7, 100]) {
        proxy.asked.length = 0
        const got: string[] = []
        for await (const b of client.logPages({}, page)) got.push(...b.map((r) => r.id))
        expect(got, `pages of ${page}`).toEqual(all.map((r) => r.id))
        // Each request after the first asks after the last record given.
        expect(proxy.asked.slice(1).every((q) => q.has('after') && !q.has('since')), `pages of ${page}`).toBe(true)
        expect(proxy.asked.length, `pages of ${page}`).toBe(Math.floor(all.length / page) + 1)
        const limited: string[] = []
        for await (const b of client.logPages({limit: 11, since: all[3].hlc}, page)) limited.push(...b.map((r) => r.id))
        expect(limited, `limit and since, pages of ${page}`).toEqual(all.filter((r) => r.hlc > all[3].hlc).slice(0, 11).map((r) => r.id))
      }
    } finally {
      await proxy.close()
    }
  })

  it('against a daemon from before the cursor (it drops after= and answers no next), the CLI pages as that daemon allows and still gives every record once', async () => {
    const old = await logProxy(d.url, true)
    try {
      const client = new RemoteClient(old.url, d.token)
      for (const page of [1, 2, 3, 5, 7, 100]) {
        old.asked.length = 0
        const got: string[] = []
        for await (const b of client.logPages({}, page)) got.push(...b.map((r) => r.id))
        expect(got, `pages of ${page}`).toEqual(all.map((r) => r.id))
        // The first full page without next told it the daemon is old: it never asks after a place, and pages by since.
        expect(old.asked.some((q) => q.has('after')), `pages of ${page}`).toBe(false)
        if (page < all.length) expect(old.asked.slice(2).every((q) => q.has('since')), `pages of ${page}`).toBe(true)
        const sub: string[] = []
        for await (const b of client.logPages({subject: 's:2', limit: 6}, page)) sub.push(...b.map((r) => r.id))
        expect(sub, `subject and limit, pages of ${page}`).toEqual(all.filter((r) => r.kind === 'assertion' && r.subject === 's:2').slice(0, 6).map((r) => r.id))
      }
      // The steme command through it, as a user runs it.
      const cli = await steme({...e, env: {...e.env, STEME_TOKEN: d.token}}, ['log', '--remote', old.url, '--json'])
      expect(cli.code, cli.stderr).toBe(0)
      expect(JSON.parse(cli.stdout).records.map((r: SignedRecord) => r.id)).toEqual(all.map((r) => r.id))
    } finally {
      await old.close()
    }
  })

  it('steme log through the daemon lists the whole log, as the store holds it', async () => {
    const cli = await steme(e, ['log', '--json'])
    expect(cli.code, cli.stderr).toBe(0)
    expect(JSON.parse(cli.stdout).records).toEqual(all)
  })
})
