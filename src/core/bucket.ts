/** Sync buckets: fixed time slices of 2^20 ms (~17.5 min) by hlc, and additive sums of ids within them. */

/** Bucket width in bits of milliseconds. Part of sync protocol v1: peers must agree on it. */
export const BUCKET_BITS = 20
/** The largest bucket a valid hlc can fall in (44 bits: 16 hex digits of ms minus 5). */
export const MAX_BUCKET = 2 ** 44 - 1

export const MOD = 1n << 256n
const MASK64 = (1n << 64n) - 1n

/** The bucket of a stamp: its first 11 hex digits are wall ms >> 20. */
export const bucketOf = (hlc: string): number => parseInt(hlc.slice(0, 11), 16)

/** The lowest hlc in a bucket, so `hlc >= bucketFloor(b)` and `hlc < bucketFloor(b + 1)` select it. */
export const bucketFloor = (bucket: number): string => bucket.toString(16).padStart(11, '0') + '00000-0000'

/** An id as a 256-bit big-endian integer (so numeric order is hex order). */
export const idValue = (id: string): bigint => BigInt('0x' + id)

export const valueId = (v: bigint): string => v.toString(16).padStart(64, '0')

/** The four 64-bit limbs of an id, most significant first: what SQL adapters sum per column. */
export function idLimbs(id: string): [bigint, bigint, bigint, bigint] {
  return [BigInt('0x' + id.slice(0, 16)), BigInt('0x' + id.slice(16, 32)), BigInt('0x' + id.slice(32, 48)), BigInt('0x' + id.slice(48, 64))]
}

/** Fold per-limb sums (each possibly above 2^64) back into one sum mod 2^256. */
export function fromLimbs(l0: bigint, l1: bigint, l2: bigint, l3: bigint): bigint {
  // asUintN: the same as % MOD for these non-negative sums, and several times cheaper.
  return BigInt.asUintN(256, (l0 << 192n) + (l1 << 128n) + (l2 << 64n) + l3)
}

export const limbMask = MASK64
