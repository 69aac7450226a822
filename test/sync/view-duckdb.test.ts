/** The sync view over DuckDB (ids read per bucket as lists) sees exactly what it sees over the reference memory store. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, expect, it} from 'vitest'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'
import {MAX_BUCKET} from '../../src/core/bucket.js'
import {IdList} from '../../src/sync/ids.js'
import {LocalView} from '../../src/sync/view.js'
import type {Range} from '../../src/sync/wire.js'
import {DAY, makeRecords, memoryWith} from './helpers.js'

let dir: string
afterEach(() => rmSync(dir, {recursive: true, force: true}))

it('DuckDB bucket id lists and the view built on them match the memory store, prefix ranges sorted', async () => {
  dir = mkdtempSync(join(tmpdir(), 'steme-view-'))
  // A hot bucket (600 records within a minute) among records spread over days.
  const recs = [...(await makeRecords(900, {tag: 'spread', spanMs: 3 * DAY})), ...(await makeRecords(600, {tag: 'hot', spanMs: 60_000, endAgoMs: 5 * DAY}))]
  const duck = await DuckDBStore.open(join(dir, 'store.duckdb'), {create: true})
  try {
    await duck.insert(recs)
    const mem = await memoryWith(recs)
    const all = {from: 0, to: MAX_BUCKET}
    const lists = await duck.bucketIdLists([all])
    expect(lists.map((l) => l.bucket)).toEqual([...lists.map((l) => l.bucket)].sort((a, b) => a - b))
    expect(lists.flatMap((l) => new IdList(l.ids).toHex().sort().map((id) => ({bucket: l.bucket, id})))).toEqual(await mem.bucketIds([all]))
    expect(await duck.bucketIds([all])).toEqual(await mem.bucketIds([all]))

    const dv = await LocalView.load(duck)
    const mv = await LocalView.load(mem)
    const buckets = dv.bucketsIn(0, MAX_BUCKET)
    const hot = buckets.reduce((x, y) => (y.count > x.count ? y : x))
    expect(hot.count).toBeGreaterThan(300)
    const ranges: Range[] = [
      {a: 0, b: MAX_BUCKET, bits: 0, prefix: 0},
      {a: buckets[3].bucket, b: buckets[40].bucket, bits: 0, prefix: 0},
      {a: hot.bucket, b: hot.bucket, bits: 0, prefix: 0},
      ...Array.from({length: 16}, (_, k) => ({a: hot.bucket, b: hot.bucket, bits: 4, prefix: k})),
      {a: hot.bucket, b: hot.bucket, bits: 8, prefix: 0x5c},
    ]
    await dv.prefetch(ranges)
    for (const r of ranges) {
      const got = await dv.ids(r)
      const want = await mv.ids(r)
      // Prefix ranges come sorted (they are binary-searched runs); whole buckets in any order.
      if (r.bits > 0) expect(got).toEqual(want)
      else expect([...got].sort()).toEqual([...want].sort())
      expect(await dv.summary(r)).toEqual(await mv.summary(r))
    }
  } finally {
    await duck.close()
  }
})
