/** ColumnBuilder's per-bucket id sums (what sync_buckets keeps) equal the sums of each id's 64-bit limbs. */
import {describe, expect, it} from 'vitest'
import {bucketOf, idLimbs} from '../../src/core/bucket.js'
import {ColumnBuilder} from '../../src/ops/ingest-check.js'
import {makeRecords} from '../sync/helpers.js'

describe('ColumnBuilder', () => {
  it('sums ids per bucket exactly, limb by limb, and copies ids and signatures given as bytes', async () => {
    // Three days of records: about 250 buckets, a dozen records each.
    const recs = await makeRecords(3000, {tag: 'cols', spanMs: 3 * 86_400_000})
    const cols = new ColumnBuilder(recs.length)
    recs.forEach((r, i) => (i % 2 ? cols.add(r) : cols.add(r, Buffer.from(r.record.id, 'hex'), Buffer.from(r.record.sig, 'hex'))))
    const out = cols.done()
    const want = new Map<number, [number, bigint, bigint, bigint, bigint]>()
    for (const {record} of recs) {
      const b = bucketOf(record.hlc)
      const acc = want.get(b) ?? [0, 0n, 0n, 0n, 0n]
      const l = idLimbs(record.id)
      want.set(b, [acc[0] + 1, acc[1] + l[0], acc[2] + l[1], acc[3] + l[2], acc[4] + l[3]])
    }
    expect(want.size).toBeGreaterThan(100)
    expect(new Map([...out.sums].sort((a, b) => a[0] - b[0]))).toEqual(new Map([...want].sort((a, b) => a[0] - b[0])))
    // Limb sums above 2^64: the halves carried into the BigInt limbs.
    expect([...out.sums.values()].some((s) => s[1] > 2n ** 64n)).toBe(true)
    expect(Buffer.from(out.ids).toString('hex')).toBe(recs.map((r) => r.record.id).join(''))
    expect(Buffer.from(out.sigs).toString('hex')).toBe(recs.map((r) => r.record.sig).join(''))
  })
})
