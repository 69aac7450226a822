/** NEED_IN: the client names the bucket span of the ids it asks for, and a DuckDB server reads that stretch instead of looking each id up. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'
import {bucketOf} from '../../src/core/bucket.js'
import {recordLine, type Sealed} from '../../src/core/seal.js'
import {needFrames} from '../../src/sync/client.js'
import {CAPS, NEED_SPAN, createSyncHandler} from '../../src/sync/server.js'
import {PROTOCOL, T, VERSION, decode, encode, type Frame, type Range} from '../../src/sync/wire.js'
import {DAY, makeRecords, receiveDeps, root, syncPair} from './helpers.js'

const range = (a: number, b: number): Range => ({a, b, bits: 0, prefix: 0})
const hex = (n: number) => n.toString(16).padStart(64, '0')

describe('needFrames', () => {
  it('puts ids with a known range in one NEED_IN over all their ranges, the rest in NEED, in order and up to max', () => {
    const want = new Map<string, Range | undefined>([
      [hex(1), range(10, 20)],
      [hex(2), undefined],
      [hex(3), range(5, 12)],
      [hex(4), range(30, 40)],
      [hex(5), range(50, 60)],
    ])
    const asked = new Map<string, Range | undefined>()
    const frames = needFrames(want, 4, true, asked)
    expect(frames).toEqual([
      {t: T.NeedIn, a: 5, b: 40, ids: [hex(1), hex(3), hex(4)]},
      {t: T.Need, ids: [hex(2)]},
    ])
    // Taken ids leave `want` and keep their own range in `asked` (for ids offered back later).
    expect([...want.keys()]).toEqual([hex(5)])
    expect(asked.get(hex(3))).toEqual(range(5, 12))
    expect(asked.has(hex(2)) && asked.get(hex(2)) === undefined).toBe(true)
  })

  it('sends NEED only to a server that does not read spans', () => {
    const want = new Map<string, Range | undefined>([
      [hex(1), range(10, 20)],
      [hex(2), undefined],
    ])
    expect(needFrames(want, 10, false)).toEqual([{t: T.Need, ids: [hex(1), hex(2)]}])
  })
})

describe('NEED_IN against DuckDB', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'steme-needin-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  const open = (name: string) => DuckDBStore.open(join(dir, `${name}.duckdb`), {create: true})
  const spanOf = (recs: readonly Sealed[]) => ({a: Math.min(...recs.map((r) => bucketOf(r.record.hlc))), b: Math.max(...recs.map((r) => bucketOf(r.record.hlc)))})

  it('recordLinesIn answers as recordLines: ids outside the span and ids not stored included', async () => {
    const recs = await makeRecords(600, {tag: 'span', spanMs: 20 * DAY})
    const store = await open('lines')
    try {
      await store.insert(recs)
      const inside = recs.slice(100, 200)
      const {a, b} = spanOf(inside)
      // Two records from far outside the span, and an id nothing has.
      const asked = [...inside, recs[0], recs[599]].map((r) => r.record.id)
      const text = (lines: Uint8Array[]) => lines.map((l) => Buffer.from(l).toString('utf8')).sort()
      const got = text(await store.recordLinesIn(asked.concat(hex(7)), a, b))
      const want = [...inside, recs[0], recs[599]].map((r) => recordLine(r.canonical, r.record.id, r.record.sig))
      expect(got).toEqual([...want].sort())
      expect(got).toEqual(text(await store.recordLines(asked)))
      expect(await store.recordLinesIn([], a, b)).toEqual([])
    } finally {
      await store.close()
    }
  })

  it('a server answers NEED_IN with the records asked for, and lists need-span in its caps', async () => {
    const recs = await makeRecords(400, {tag: 'srv', spanMs: 10 * DAY})
    const store = await open('server')
    const handler = createSyncHandler({...receiveDeps(store), soleWriter: true})
    try {
      await store.insert(recs)
      const part = recs.slice(50, 80)
      const {a, b} = spanOf(part)
      const ids = [...part.map((r) => r.record.id), recs[300].record.id, hex(9)]
      const hello = {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: 'pull' as const}
      const res = decode(await handler.handle(encode([{t: T.Hello, hello}, {t: T.NeedIn, a, b, ids}])))
      expect((res[0] as Extract<Frame, {t: T.Hello}>).hello.caps).toContain(NEED_SPAN)
      const lines = res.filter((f): f is Extract<Frame, {t: T.Record}> => f.t === T.Record).map((f) => f.line)
      expect(lines.sort()).toEqual([...part, recs[300]].map((r) => recordLine(r.canonical, r.record.id, r.record.sig)).sort())
    } finally {
      await handler.close()
      await store.close()
    }
  })

  it('a dense difference between two DuckDB stores converges, the records read by span', {timeout: 60_000}, async () => {
    const recs = await makeRecords(13_000, {tag: 'dense', spanMs: 30 * DAY})
    const local = await open('local')
    const remote = await open('remote')
    try {
      await remote.insert(recs)
      // Every third record missing: each of the client's ~64 opening ranges differs by more than
      // 64 records and 1/16 of its count, so the server lists its ids and the client asks for the rest.
      await local.insert(recs.filter((_, i) => i % 3 !== 0))
      let bySpan = 0
      const read = remote.recordLinesIn.bind(remote)
      remote.recordLinesIn = async (ids, from, to) => {
        bySpan += ids.length
        return read(ids, from, to)
      }
      const s = await syncPair(local, remote, 'pull')
      const missing = recs.filter((_, i) => i % 3 === 0).length
      expect(s.local.added).toBe(missing)
      expect(await root(local)).toEqual(await root(remote))
      // All but the few the server finds itself (around the client's newest bucket, which the
      // opening lists) are asked for by NEED_IN and read by span.
      expect(bySpan).toBeGreaterThan(missing * 0.95)
      expect(bySpan).toBeLessThanOrEqual(missing)
    } finally {
      await local.close()
      await remote.close()
    }
  })
})
