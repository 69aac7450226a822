/** Paging GET /v1/conflicts through a real `steme serve`: a bounded page by default, `next`/`after` on the ranking, and the CLI against daemons with and without pages. */
import {rmSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {ConflictRow} from '../../src/ops/conflicts.js'
import {CONFLICTS_DEFAULT, CONFLICTS_MAX, NAMING_HEADER, RemoteClient} from '../../src/serve/client.js'
import {assertion, stamp, testKey} from '../helpers/records.js'
import {makeEnv, startDaemon, steme, type Daemon, type Env} from './daemon.js'
import {ndjson} from './harness.js'
import {routeProxy} from './route-proxy.js'

/** More contested pairs than one default page, on 5 scores: long runs of ties, broken by subject then predicate. */
const PAIRS = CONFLICTS_DEFAULT + 203

function contested() {
  const out = []
  for (let i = 0; i < PAIRS; i++) {
    const subject = `s:${i % 17}`
    const predicate = `p${i}`
    out.push(assertion({subject, predicate, value: 'a', confidence: 0.9, hlc: stamp(1_760_000_000_000 + i, 0)}, testKey(1)))
    // One to five agents against one: five conflict scores.
    for (let k = 0; k <= i % 5; k++) out.push(assertion({subject, predicate, value: 'b', hlc: stamp(1_760_000_000_000 + i, 1 + k)}, testKey(2 + k)))
  }
  // Pairs with one value are no conflict.
  for (let i = 0; i < 20; i++) out.push(assertion({subject: `calm:${i}`, predicate: 'p', value: 1}, testKey(3)))
  return out
}

interface Page {
  lens: string
  pairs: number
  minScore: number
  conflicts: ConflictRow[]
  limit?: number
  next?: string
  notes?: string[]
  error?: {code: string; message: string; hint?: string}
}

interface Proxy {
  url: string
  /** The query strings of the GET /v1/conflicts requests it passed on, as the client sent them. */
  asked: URLSearchParams[]
  /** From now on, be a daemon from before pages. */
  old: boolean
  close(): Promise<void>
}

/**
 * A proxy in front of a daemon that notes the GET /v1/conflicts requests. While `old`, it is a
 * daemon from before pages, as its clients see one: `after` is dropped (fastify ignored a
 * parameter it did not know), a request without `limit` gets every pair, and the answer has no
 * `limit` or `next`.
 */
async function conflictsProxy(upstream: string, old: boolean): Promise<Proxy> {
  const state = {old}
  const proxy = await routeProxy(upstream, '/v1/conflicts', {
    active: () => state.old,
    request: (u) => {
      u.searchParams.delete('after')
      if (!u.searchParams.has('limit')) u.searchParams.set('limit', String(CONFLICTS_MAX))
    },
    answer: (page) => {
      delete page.limit
      delete page.next
    },
  })
  return {
    ...proxy,
    get old() {
      return state.old
    },
    set old(v: boolean) {
      state.old = v
    },
  }
}

describe('GET /v1/conflicts answers a bounded page, and pages exactly with after=<next>', () => {
  let e: Env
  let d: Daemon
  /** Every contested pair, ranked: the daemon's answer with the largest page. */
  let all: ConflictRow[]
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(d.url + path, {headers: {authorization: `Bearer ${d.token}`, ...headers}})
    return {status: res.status, body: (await res.json()) as Page}
  }
  const key = (r: ConflictRow) => `${r.subject} ${r.predicate}`

  beforeAll(async () => {
    e = makeEnv('steme-conflict-pages-')
    expect((await steme(e, ['init', '--dir', e.dir])).code).toBe(0)
    d = await startDaemon(e)
    const posted = await fetch(`${d.url}/v1/records?detail=counts`, {method: 'POST', headers: {authorization: `Bearer ${d.token}`, 'content-type': 'application/x-ndjson'}, body: ndjson(contested())})
    expect(posted.status).toBe(200)
    const whole = await get(`/v1/conflicts?limit=${CONFLICTS_MAX}`)
    expect(whole.status).toBe(200)
    expect(whole.body.next).toBeUndefined()
    expect(whole.body.limit).toBe(CONFLICTS_MAX)
    all = whole.body.conflicts
    expect(all).toHaveLength(PAIRS)
    expect(new Set(all.map((r) => r.conflict)).size).toBe(5)
  }, 60_000)
  afterAll(async () => {
    await d?.stop()
    rmSync(e.dir, {recursive: true, force: true})
  })

  /** Every page from the top, following `next`. */
  const pages = async (query: string, size: number) => {
    const out: ConflictRow[][] = []
    let after: string | undefined
    for (let i = 0; i < 10_000; i++) {
      const r = await get(`/v1/conflicts?limit=${size}${query}${after ? `&after=${encodeURIComponent(after)}` : ''}`)
      expect(r.status, JSON.stringify(r.body.error)).toBe(200)
      expect(r.body.limit).toBe(size)
      out.push(r.body.conflicts)
      if (r.body.next === undefined) return out
      // There is more only after a full page.
      expect(r.body.conflicts).toHaveLength(size)
      after = r.body.next
    }
    throw new Error('paging did not end')
  }

  it('without limit, one default page, which says there is more; an HTTP client reads how to get it, an old steme CLI that the list goes on', async () => {
    const r = await get('/v1/conflicts')
    expect(r.status).toBe(200)
    expect(r.body.limit).toBe(CONFLICTS_DEFAULT)
    expect(r.body.conflicts).toEqual(all.slice(0, CONFLICTS_DEFAULT))
    expect(typeof r.body.next).toBe('string')
    expect(r.body.pairs).toBe(PAIRS + 20)
    expect(r.body.notes).toEqual([`this page holds the first ${CONFLICTS_DEFAULT} pairs (the default limit), and the list goes on: pass after=<next> for the next page, or a larger limit (at most ${CONFLICTS_MAX})`])
    const cli = await get('/v1/conflicts', {[NAMING_HEADER]: 'flags'})
    expect(cli.body.notes?.[0]).toMatch(/this steme is too old to ask for the rest: the list goes on/)
    // Given a limit, the answer is what was asked for: no note.
    const asked = await get(`/v1/conflicts?limit=${CONFLICTS_DEFAULT}`)
    expect(asked.body.notes).toBeUndefined()
    expect(asked.body.conflicts).toEqual(r.body.conflicts)
    expect(asked.body.next).toBe(r.body.next)
  })

  it('a limit over the most one page holds, and an after that is no place in the ranking, are refused naming them', async () => {
    const over = await get(`/v1/conflicts?limit=${CONFLICTS_MAX + 1}`)
    expect(over.status).toBe(400)
    expect(over.body.error?.message).toBe(`query parameter limit: ${CONFLICTS_MAX + 1} is above the greatest value of ${CONFLICTS_MAX}`)
    for (const bad of ['nope!', Buffer.from('[2,"s","p"]').toString('base64url'), Buffer.from('{"a":1}').toString('base64url')]) {
      const r = await get(`/v1/conflicts?after=${encodeURIComponent(bad)}`)
      expect(r.status, bad).toBe(400)
      expect(r.body.error).toMatchObject({code: 'usage', message: `query parameter after "${bad}" is not a place in the ranking of conflicts`})
    }
  })

  it('pages of any size give every pair exactly once, in rank order, across runs of tied scores', async () => {
    for (const size of [1, 3, 97, 333, PAIRS - 1, PAIRS, PAIRS + 1]) {
      // Every page is a pass over the store: of the smallest, the first 20 are enough, as long as
      // they go past the end of a subject within a run of tied scores (checked below).
      const got = size <= 3 ? (await pagesUpTo(size, 20)).flat() : (await pages('', size)).flat()
      const want = size <= 3 ? all.slice(0, 20 * size) : all
      if (size <= 3) {
        expect(new Set(want.map((r) => r.conflict)).size, `pages of ${size}`).toBe(1)
        expect(new Set(want.map((r) => r.subject)).size, `pages of ${size}`).toBeGreaterThan(1)
      }
      expect(got.map(key), `pages of ${size}`).toEqual(want.map(key))
    }
  }, 120_000)

  /** The first `n` pages of `size` pairs. */
  const pagesUpTo = async (size: number, n: number) => {
    const out: ConflictRow[][] = []
    let after: string | undefined
    for (let i = 0; i < n; i++) {
      const r = await get(`/v1/conflicts?limit=${size}${after ? `&after=${encodeURIComponent(after)}` : ''}`)
      out.push(r.body.conflicts)
      after = r.body.next
    }
    return out
  }

  it('after= goes with min-score, each narrowing as alone', async () => {
    const min = all[Math.floor(all.length / 2)].conflict
    const want = all.filter((r) => r.conflict >= min)
    expect(want.length).toBeLessThan(all.length)
    for (const size of [50, 101, 1000]) expect((await pages(`&min-score=${min}`, size)).flat().map(key), `pages of ${size}`).toEqual(want.map(key))
  }, 60_000)

  it('the CLI client pages on the cursor to the whole list, or to its limit', async () => {
    const proxy = await conflictsProxy(d.url, false)
    try {
      const client = new RemoteClient(proxy.url, d.token)
      for (const page of [100, 500, PAIRS]) {
        proxy.asked.length = 0
        const res = await client.conflicts({}, page)
        expect(res.conflicts.map(key), `pages of ${page}`).toEqual(all.map(key))
        expect(res).not.toHaveProperty('next')
        expect(res).not.toHaveProperty('limit')
        expect(proxy.asked.length, `pages of ${page}`).toBe(Math.ceil(PAIRS / page))
        expect(proxy.asked.slice(1).every((q) => q.has('after')), `pages of ${page}`).toBe(true)
        const limited = await client.conflicts({limit: 250}, page)
        expect(limited.conflicts.map(key), `limit, pages of ${page}`).toEqual(all.slice(0, 250).map(key))
      }
    } finally {
      await proxy.close()
    }
  }, 60_000)

  it('against a daemon from before pages, the CLI asks as older clients did and gets the whole list', async () => {
    const old = await conflictsProxy(d.url, true)
    try {
      const client = new RemoteClient(old.url, d.token)
      const res = await client.conflicts({}, 100)
      expect(res.conflicts.map(key)).toEqual(all.map(key))
      // The first page was full and said nothing of pages: the whole list was asked for, without limit or after.
      expect(old.asked.map((q) => q.toString())).toEqual(['limit=100', ''])
      old.asked.length = 0
      expect((await client.conflicts({limit: 40}, 100)).conflicts.map(key)).toEqual(all.slice(0, 40).map(key))
      expect(old.asked.map((q) => q.toString())).toEqual(['limit=40'])
      old.asked.length = 0
      expect((await client.conflicts({limit: 300}, 100)).conflicts.map(key)).toEqual(all.slice(0, 300).map(key))
      expect(old.asked.map((q) => q.toString())).toEqual(['limit=100', 'limit=300'])
    } finally {
      await old.close()
    }
  }, 60_000)

  it('a daemon that stops paging part way (restarted with an older steme) is refused, not believed', async () => {
    const proxy = await conflictsProxy(d.url, false)
    try {
      const client = new RemoteClient(proxy.url, d.token)
      const pages = client.conflicts({}, 500)
      // Turned old once the first page is asked for.
      while (proxy.asked.length === 0) await new Promise((r) => setTimeout(r, 5))
      proxy.old = true
      await expect(pages).rejects.toThrow(/stopped paging conflicts part way/)
    } finally {
      await proxy.close()
    }
  }, 60_000)

  it('the CLI client lists every pair page by page through runs on disk, holding at most a run of rows', async () => {
    const proxy = await conflictsProxy(d.url, false)
    try {
      const client = new RemoteClient(proxy.url, d.token)
      const seen: ConflictRow[] = []
      const listing = await client.conflictsListing({}, {page: 100, runRows: 150, onRow: (r) => seen.push(r)})
      try {
        expect(proxy.asked.length).toBe(Math.ceil(PAIRS / 100))
        expect(listing.count).toBe(PAIRS)
        expect(listing.runs).toBeGreaterThanOrEqual(Math.floor(PAIRS / 150))
        expect(listing.peakHeld).toBeLessThanOrEqual(150)
        const rows: ConflictRow[] = []
        for await (const b of listing.rows(64)) rows.push(...b)
        expect(rows).toEqual(all)
        expect(seen).toEqual(all)
        expect(listing.head).toMatchObject({lens: 'consensus', pairs: expect.any(Number), minScore: 0})
        expect(listing.head).not.toHaveProperty('next')
      } finally {
        await listing.close()
      }
    } finally {
      await proxy.close()
    }
  }, 60_000)

  // One test, not two: the output through the daemon without --limit is what both compare (the
  // same bytes as the whole list asked for at once, and what the store at hand prints), so each
  // command runs once; the daemon is stopped last, for the store at hand.
  it('steme conflicts through the daemon prints, without --limit, the same bytes as the whole list asked for at once, and as it prints with the store at hand', async () => {
    const through: Record<string, string> = {}
    for (const args of [['conflicts', '--json'], ['conflicts']]) {
      const paged = await steme(e, args)
      expect(paged.code, paged.stderr).toBe(0)
      const whole = await steme(e, [...args, '--limit', String(PAIRS + 10)])
      expect(whole.code, whole.stderr).toBe(0)
      expect(paged.stdout).toBe(whole.stdout)
      through[args.join(' ')] = paged.stdout
    }
    await d.stop()
    const local = await steme(e, ['conflicts', '--json'])
    expect(local.code, local.stderr).toBe(0)
    expect(JSON.parse(through['conflicts --json'])).toEqual(JSON.parse(local.stdout))
    expect(JSON.parse(local.stdout).conflicts).toHaveLength(PAIRS)
    const localHuman = await steme(e, ['conflicts'])
    expect(through.conflicts).toBe(localHuman.stdout)
  }, 120_000)
})
