/**
 * Record ids in bulk, as bytes: a sync of many differences reads, sends and compares about a
 * million ids per side, and a 64-digit string per id (built from the store's hex, turned back
 * into bytes for the wire, and again into strings by the peer, then hashed into a Set) was most
 * of the garbage and a large share of the CPU of such a sync.
 */
import {randomBytes} from 'node:crypto'

export const ID_BYTES = 32

/** Ids as consecutive 32-byte entries of one buffer, in no particular order. */
export class IdList {
  readonly bytes: Buffer

  constructor(bytes: Uint8Array) {
    if (bytes.length % ID_BYTES !== 0) throw new Error(`an id list of ${bytes.length} bytes is not a whole number of ids`)
    this.bytes = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)
  }

  static readonly empty = new IdList(Buffer.alloc(0))

  /** From 64-digit hex ids; throws on anything else (a list's length is written before its ids). */
  static fromHex(ids: readonly string[]): IdList {
    const out = Buffer.allocUnsafe(ids.length * ID_BYTES)
    for (let i = 0; i < ids.length; i++) {
      const h = ids[i]
      if (h.length !== 64 || out.write(h, i * ID_BYTES, 'hex') !== ID_BYTES) throw new Error(`not a hex id: ${h.slice(0, 80)}`)
    }
    return new IdList(out)
  }

  static concat(lists: readonly IdList[]): IdList {
    if (lists.length === 1) return lists[0]
    return new IdList(Buffer.concat(lists.map((l) => l.bytes)))
  }

  get count(): number {
    return this.bytes.length / ID_BYTES
  }

  /** The i-th id as 64 hex digits. */
  hex(i: number): string {
    return this.bytes.toString('hex', i * ID_BYTES, (i + 1) * ID_BYTES)
  }

  toHex(): string[] {
    const out = new Array<string>(this.count)
    for (let i = 0; i < out.length; i++) out[i] = this.hex(i)
    return out
  }
}

/**
 * Whether the 32 bytes at `a[ai]` and `b[bi]` are equal, compared as eight 32-bit words in JS: a
 * million probes through Buffer.compare (a native call each) took ~0.2 s of a large sync's main
 * thread. The first words differ for nearly every pair of distinct ids, so a miss costs one read.
 */
function sameId(a: Buffer, ai: number, b: Buffer, bi: number): boolean {
  for (let k = 0; k < ID_BYTES; k += 4) if (a.readInt32LE(ai + k) !== b.readInt32LE(bi + k)) return false
  return true
}

/** Per process, so a peer cannot aim ids at one slot of the table. */
const SEED = randomBytes(4).readUInt32LE(0)

/**
 * An open-addressing hash index over one IdList, for membership tests of other ids without a
 * string per id. Built over our own ids (BLAKE3 outputs, so their words are uniform); probing
 * with a peer's ids costs one slot walk each whatever the peer sends. Each entry remembers
 * whether it was probed, so "ours not in theirs" needs no second index.
 */
export class IdIndex {
  private readonly slots: Int32Array
  private readonly mask: number
  /** 1 for each entry of the list some probe matched (and for repeats of an earlier entry). */
  readonly seen: Uint8Array

  constructor(readonly list: IdList) {
    const n = list.count
    let size = 16
    while (size < n * 2) size *= 2
    this.slots = new Int32Array(size)
    this.mask = size - 1
    this.seen = new Uint8Array(n)
    const b = list.bytes
    for (let i = 0; i < n; i++) {
      let s = this.slot(b, i * ID_BYTES)
      for (;;) {
        const at = this.slots[s]
        if (at === 0) {
          this.slots[s] = i + 1
          break
        }
        // A repeated id (a store lists each once): keep the first, and count the repeat as seen,
        // so an id the peer lacks is reported once.
        if (sameId(b, (at - 1) * ID_BYTES, b, i * ID_BYTES)) {
          this.seen[i] = 1
          break
        }
        s = (s + 1) & this.mask
      }
    }
  }

  private slot(buf: Buffer, off: number): number {
    return (Math.imul(buf.readUInt32LE(off) ^ SEED, 0x9e3779b1) ^ buf.readUInt32LE(off + 12)) & this.mask
  }

  /** Whether the id at `off` in `buf` is in the list; marks it seen. */
  probe(buf: Buffer, off: number): boolean {
    const b = this.list.bytes
    let s = this.slot(buf, off)
    for (;;) {
      const at = this.slots[s]
      if (at === 0) return false
      if (sameId(b, (at - 1) * ID_BYTES, buf, off)) {
        this.seen[at - 1] = 1
        return true
      }
      s = (s + 1) & this.mask
    }
  }
}
