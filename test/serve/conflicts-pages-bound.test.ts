/** The CLI client's paging through GET /v1/conflicts ends, whatever a buggy or hostile daemon answers. */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import type {ConflictRow} from '../../src/ops/conflicts.js'
import {RemoteClient} from '../../src/serve/client.js'

const row = (subject: string, conflict: number): ConflictRow => ({subject, predicate: 'p', conflict, values: 2, witnesses: 2, winner: undefined, status: 'contested', top: []}) as unknown as ConflictRow

let server: Server | undefined
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
  server = undefined
})

/** A daemon whose GET /v1/conflicts answers `page(n)` to its n-th request (from 0); the requests are counted. */
async function daemon(page: (n: number) => {conflicts: ConflictRow[]; next?: string}): Promise<{url: string; asked: () => number}> {
  let n = 0
  server = createServer((req, res) => {
    // A bound of the test's own, so that a client that never stops fails instead of hanging.
    if (n >= 20) {
      res.writeHead(503, {'content-type': 'application/json'})
      res.end(JSON.stringify({error: {code: 'unavailable', message: 'the test daemon gave up'}}))
      return
    }
    const body = {lens: 'consensus', minScore: 0, pairs: 3, limit: 2, ...page(n++)}
    res.writeHead(200, {'content-type': 'application/json'})
    res.end(JSON.stringify(body))
  })
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r))
  return {url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, asked: () => n}
}

describe('paging conflicts from a daemon that does not go on', () => {
  it('a page that holds only pairs listed before, with the same next again, is refused instead of asked for for ever', async () => {
    // The first page lists b before a, out of rank order; every later page lists a (after b in
    // rank) again, and says there is more, with the same cursor.
    const d = await daemon((n) => (n === 0 ? {conflicts: [row('b', 0.9), row('a', 0.9), row('z', 0.5)], next: 'x'} : {conflicts: [row('a', 0.4)], next: 'x'}))
    const client = new RemoteClient(d.url, 'tok')
    await expect(client.conflicts({}, 3)).rejects.toThrow(/did not go on after the pairs of its page before/)
    expect(d.asked()).toBeLessThan(5)
  })

  it('a page whose pairs repeat the last of the page before, in order, with the same next again, is refused', async () => {
    const d = await daemon((n) => (n === 0 ? {conflicts: [row('a', 0.9), row('z', 0.5)], next: 'x'} : {conflicts: [row('a', 0.4)], next: 'x'}))
    const client = new RemoteClient(d.url, 'tok')
    await expect(client.conflicts({}, 3)).rejects.toThrow(/did not go on after the pairs of its page before/)
    expect(d.asked()).toBeLessThan(5)
  })

  it('a page whose pairs are all listed before (their scores fell meanwhile) is no stop when the cursor goes on', async () => {
    // Legitimate: a and b were on page 1; by page 2 their scores fell below z's, so they come again.
    const d = await daemon((n) => (n === 0 ? {conflicts: [row('a', 0.9), row('b', 0.8)], next: 'p1'} : n === 1 ? {conflicts: [row('a', 0.3), row('b', 0.2)], next: 'p2'} : {conflicts: [row('c', 0.1)]}))
    const client = new RemoteClient(d.url, 'tok')
    const res = await client.conflicts({}, 2)
    expect(res.conflicts.map((r) => r.subject)).toEqual(['a', 'b', 'c'])
    expect(d.asked()).toBe(3)
  })

  it('the listing on disk lists such pairs once too, where they came first', async () => {
    const d = await daemon((n) => (n === 0 ? {conflicts: [row('a', 0.9), row('b', 0.8)], next: 'p1'} : n === 1 ? {conflicts: [row('a', 0.3), row('b', 0.2)], next: 'p2'} : {conflicts: [row('c', 0.1)]}))
    const client = new RemoteClient(d.url, 'tok')
    const listing = await client.conflictsListing({}, {page: 2, runRows: 1})
    try {
      const rows: ConflictRow[] = []
      for await (const b of listing.rows()) rows.push(...b)
      expect(rows.map((r) => [r.subject, r.conflict])).toEqual([['a', 0.9], ['b', 0.8], ['c', 0.1]])
      expect(listing.count).toBe(3)
    } finally {
      await listing.close()
    }
  })

  it('the listing on disk refuses a daemon that does not go on, as the whole list does', async () => {
    const d = await daemon((n) => (n === 0 ? {conflicts: [row('a', 0.9), row('z', 0.5)], next: 'x'} : {conflicts: [row('a', 0.4)], next: 'x'}))
    await expect(new RemoteClient(d.url, 'tok').conflictsListing({}, {page: 3})).rejects.toThrow(/did not go on after the pairs of its page before/)
    expect(d.asked()).toBeLessThan(5)
  })
})
