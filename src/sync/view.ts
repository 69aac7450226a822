/** One side's view of its record set for a sync message: range counts, sums, fingerprints and ids. */
import {MAX_BUCKET, MOD, idValue} from '../core/bucket.js'
import {blake3} from '../core/hash.js'
import type {BucketSpan, BucketSum, Store} from '../core/store.js'
import {IdList} from './ids.js'
import {FP_BYTES, type Range} from './wire.js'

export interface Summary {
  count: number
  sum: bigint
}

const sumBytes = (sum: bigint): Buffer => Buffer.from(sum.toString(16).padStart(64, '0'), 'hex')

/** Fingerprint of a range: BLAKE3(sum as 32 bytes big-endian || count as 8 bytes big-endian), first 16 bytes. */
export function fingerprint(s: Summary): Uint8Array {
  const buf = Buffer.alloc(40)
  sumBytes(s.sum).copy(buf, 0)
  buf.writeBigUInt64BE(BigInt(s.count), 32)
  return blake3(buf).subarray(0, FP_BYTES)
}

export const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0

/** Index of the first element of sorted `xs` that is >= `x`. */
function firstAtLeast(xs: readonly string[], x: string): number {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (xs[mid] < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Bucket sums are read once per message (a small table: one row per non-empty 17-minute
 * bucket); range sums are then prefix-sum lookups. Ids are read only for ranges small enough
 * to list or to split inside one bucket.
 */
export class LocalView {
  private buckets: BucketSum[] = []
  private cumCount: number[] = [0]
  private cumSum: bigint[] = [0n]
  private idCache = new Map<number, IdList>()
  /** A bucket's ids as sorted hex, for the buckets split by id prefix (hot buckets only). */
  private sorted = new Map<number, string[]>()

  private constructor(private readonly store: Store) {}

  static async load(store: Store): Promise<LocalView> {
    const v = new LocalView(store)
    v.buckets = await store.bucketSums(0, MAX_BUCKET)
    for (const b of v.buckets) {
      v.cumCount.push(v.cumCount[v.cumCount.length - 1] + b.count)
      v.cumSum.push(BigInt.asUintN(256, v.cumSum[v.cumSum.length - 1] + b.sum))
    }
    return v
  }

  /** Drop cached ids (kept sums stay), so the next reads see records stored since. */
  forgetIds(): void {
    this.idCache.clear()
    this.sorted.clear()
  }

  /** Index of the first bucket row >= bucket. */
  private lower(bucket: number): number {
    let lo = 0
    let hi = this.buckets.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.buckets[mid].bucket < bucket) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  get total(): Summary {
    return {count: this.cumCount[this.cumCount.length - 1], sum: this.cumSum[this.cumSum.length - 1]}
  }

  /** The highest non-empty bucket, or -1. */
  get top(): number {
    return this.buckets.length ? this.buckets[this.buckets.length - 1].bucket : -1
  }

  /** Non-empty buckets in [a, b] with their counts. */
  bucketsIn(a: number, b: number): BucketSum[] {
    return this.buckets.slice(this.lower(a), this.lower(b + 1))
  }

  /** Count and sum of a range of whole buckets, from the bucket table alone. */
  bucketSummary(r: Range): Summary {
    const i = this.lower(r.a)
    const j = this.lower(r.b + 1)
    return {count: this.cumCount[j] - this.cumCount[i], sum: BigInt.asUintN(256, this.cumSum[j] - this.cumSum[i])}
  }

  async summary(r: Range): Promise<Summary> {
    if (r.bits === 0) return this.bucketSummary(r)
    const ids = await this.ids(r)
    let sum = 0n
    for (const id of ids) sum += idValue(id)
    return {count: ids.length, sum: sum % MOD}
  }

  /** Count without reading ids (exact for bucket ranges; for a prefix range, the whole bucket's count). */
  countUpper(r: Range): number {
    const i = this.lower(r.a)
    const j = this.lower(r.b + 1)
    return this.cumCount[j] - this.cumCount[i]
  }

  private cached(r: Range): boolean {
    return this.bucketsIn(r.a, r.b).every((b) => this.idCache.has(b.bucket))
  }

  /** Read the ids of many ranges with one store call, for the ids() calls that follow. */
  async prefetch(ranges: readonly Range[]): Promise<void> {
    const spans: BucketSpan[] = []
    for (const r of [...ranges].sort((x, y) => x.a - y.a)) {
      if (this.countUpper(r) === 0 || this.cached(r)) continue
      const last = spans[spans.length - 1]
      if (last && r.a <= last.to + 1) last.to = Math.max(last.to, r.b)
      else spans.push({from: r.a, to: r.b})
    }
    if (spans.length === 0) return
    for (const sp of spans) for (const b of this.bucketsIn(sp.from, sp.to)) this.idCache.set(b.bucket, IdList.empty)
    if (this.store.bucketIdLists) {
      for (const {bucket, ids} of await this.store.bucketIdLists(spans)) if (this.idCache.has(bucket)) this.idCache.set(bucket, new IdList(ids))
      return
    }
    const hex = new Map<number, string[]>()
    for (const {bucket, id} of await this.store.bucketIds(spans)) {
      if (!this.idCache.has(bucket)) continue
      const list = hex.get(bucket)
      if (list) list.push(id)
      else hex.set(bucket, [id])
    }
    for (const [bucket, ids] of hex) this.idCache.set(bucket, IdList.fromHex(ids))
  }

  /** The ids in a range as hex, bucket by bucket; sorted by id within a prefix range, else in no particular order. */
  async ids(r: Range): Promise<string[]> {
    if (r.bits > 0) return this.prefixIds(r)
    return (await this.idList(r)).toHex()
  }

  /** The ids in a range as bytes (what id lists on the wire and their comparison use). */
  async idList(r: Range): Promise<IdList> {
    if (r.bits > 0) return IdList.fromHex(await this.prefixIds(r))
    if (!this.cached(r)) await this.prefetch([r])
    return IdList.concat(this.bucketsIn(r.a, r.b).map((b) => this.idCache.get(b.bucket)!))
  }

  private async prefixIds(r: Range): Promise<string[]> {
    if (!this.cached(r)) await this.prefetch([r])
    // A prefix is a contiguous run of the bucket's sorted ids: two binary searches, so the
    // hundreds of sub-ranges of a split bucket do not each scan the whole bucket.
    let ids = this.sorted.get(r.a)
    if (!ids) this.sorted.set(r.a, (ids = (this.idCache.get(r.a) ?? IdList.empty).toHex().sort()))
    const head = r.prefix.toString(16).padStart(r.bits / 4, '0')
    return ids.slice(firstAtLeast(ids, head.padEnd(64, '0')), firstAtLeast(ids, head.padEnd(64, 'f') + 'g'))
  }
}
