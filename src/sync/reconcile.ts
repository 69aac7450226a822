/** The reconciliation step both peers run on each other's range frames: compare, resolve, or split. */
import {MAX_BUCKET, MOD, idValue} from '../core/bucket.js'
import type {BucketSum} from '../core/store.js'
import {ID_BYTES, IdIndex, type IdList} from './ids.js'
import {LocalView, fingerprint, sameBytes, type Summary} from './view.js'
import {T, type Frame, type Range} from './wire.js'

/** Tunables of protocol v1 (either side may pick other values; the protocol stays correct). */
export const LIMITS = {
  /** A side holding at most this many records in a differing range lists their ids instead of splitting. */
  idsMax: 16,
  /** Up to this many records, a range one record apart is resolved by trying each candidate. */
  oneDiffMax: 4096,
  /** A peer that holds nothing in a range gets all of ours directly, up to this many; else split first. */
  giveMax: 20_000,
  /** Sub-ranges per estimated difference when splitting, so most sub-ranges hold at most one. */
  fanoutPerDiff: 4,
  minFanout: 16,
  maxFanout: 256,
  /**
   * A range whose counts differ by at least 1/denseRatio of ours (and by at least denseMin) is
   * answered with our ids, up to denseIdsMax of them: when that many records differ, splitting
   * only cuts it into parts that all differ again, and each level reads every id once more.
   */
  denseRatio: 16,
  denseMin: 64,
  denseIdsMax: 16_384,
  /** The opening message: ranges covering the history, and the newest bucket as ids when small. */
  openingRanges: 64,
  openingIds: 256,
}

export interface Outcome {
  /** Frames to send back to the peer. */
  reply: Frame[]
  /** Ids we hold that the peer lacks. */
  peerLacks: string[]
  /** Ids the peer holds that we lack. */
  iLack: string[]
  /** For each of iLack, the range it was listed in (where the peer stores it: NEED_IN's span). */
  iLackIn: Range[]
  /** Range frames compared. */
  compared: number
  /** Range frames answered (all of them unless the reply budget ran out). */
  handled: number
}

export const newOutcome = (): Outcome => ({reply: [], peerLacks: [], iLack: [], iLackIn: [], compared: 0, handled: 0})

const fpFrame = (range: Range, s: Summary): Frame => ({t: T.Fp, range, count: s.count, hash: s.count ? fingerprint(s) : new Uint8Array(0)})

/** Cut [a, b] into at most `pieces` contiguous ranges of about equal count (by our own buckets). */
export function partition(buckets: readonly BucketSum[], a: number, b: number, pieces: number): Range[] {
  const total = buckets.reduce((n, x) => n + x.count, 0)
  const out: Range[] = []
  const target = Math.max(1, total / pieces)
  let start = a
  let acc = 0
  let next = target
  for (const x of buckets) {
    acc += x.count
    if (acc >= next && x.bucket < b) {
      out.push({a: start, b: x.bucket, bits: 0, prefix: 0})
      start = x.bucket + 1
      while (next <= acc) next += target
    }
  }
  out.push({a: start, b, bits: 0, prefix: 0})
  return out
}

/** Split a differing range into sub-ranges and send our fingerprint of each. */
async function split(view: LocalView, r: Range, mine: Summary, theirCount: number, out: Outcome): Promise<void> {
  const diffs = Math.max(2, Math.abs(mine.count - theirCount))
  const fanout = Math.min(LIMITS.maxFanout, Math.max(LIMITS.minFanout, diffs * LIMITS.fanoutPerDiff))
  const top = view.top
  if (r.a < r.b && theirCount > mine.count && top >= r.a && top < r.b) {
    // They are ahead of our newest bucket: "nothing after `top`" settles the newer part, our
    // newest bucket as ids settles the boundary, and the rest is compared as a whole. A peer
    // that is merely behind by its newest records is done in the next step.
    if (top > r.a) out.reply.push(fpFrame({a: r.a, b: top - 1, bits: 0, prefix: 0}, view.bucketSummary({a: r.a, b: top - 1, bits: 0, prefix: 0})))
    const last: Range = {a: top, b: top, bits: 0, prefix: 0}
    const s = view.bucketSummary(last)
    out.reply.push(s.count <= LIMITS.openingIds ? {t: T.Ids, range: last, ids: await view.idList(last)} : fpFrame(last, s))
    out.reply.push({t: T.Fp, range: {a: top + 1, b: r.b, bits: 0, prefix: 0}, count: 0, hash: new Uint8Array(0)})
    return
  }
  if (r.a < r.b) {
    const buckets = view.bucketsIn(r.a, r.b)
    let parts = partition(buckets, r.a, r.b, fanout)
    if (parts.length === 1) {
      // All our records sit in one bucket c: isolate it, so the next step splits by id prefix.
      const c = buckets[0].bucket
      parts = [
        ...(c > r.a ? [{a: r.a, b: c - 1, bits: 0, prefix: 0}] : []),
        {a: c, b: c, bits: 0, prefix: 0},
        ...(c < r.b ? [{a: c + 1, b: r.b, bits: 0, prefix: 0}] : []),
      ]
    }
    for (const p of parts) out.reply.push(fpFrame(p, await view.summary(p)))
    return
  }
  // One bucket: split by the next 4 or 8 bits of the id.
  const step = fanout > 64 && mine.count > 1024 ? 8 : 4
  if (r.bits + step > 48) {
    out.reply.push({t: T.Ids, range: r, ids: await view.idList(r)})
    return
  }
  const ids = await view.ids(r)
  const n = 2 ** step
  const counts = new Array<number>(n).fill(0)
  const sums = new Array<bigint>(n).fill(0n)
  const nib = (r.bits + step) / 4
  for (const id of ids) {
    const k = parseInt(id.slice(0, nib), 16) % n
    counts[k]++
    sums[k] += idValue(id)
  }
  for (let k = 0; k < n; k++) {
    out.reply.push(fpFrame({a: r.a, b: r.a, bits: r.bits + step, prefix: r.prefix * n + k}, {count: counts[k], sum: sums[k] % MOD}))
  }
}

/** Answer one fingerprint frame from the peer. */
async function onFp(view: LocalView, r: Range, theirCount: number, hash: Uint8Array, out: Outcome): Promise<void> {
  out.compared++
  const mine = await view.summary(r)
  if (theirCount === mine.count && (mine.count === 0 || sameBytes(fingerprint(mine), hash))) return
  if (theirCount === 0) {
    if (mine.count <= LIMITS.giveMax) out.peerLacks.push(...(await view.ids(r)))
    else await split(view, r, mine, 0, out)
    return
  }
  if (mine.count === 0) {
    out.reply.push(fpFrame(r, mine))
    return
  }
  if (mine.count === theirCount + 1 && mine.count <= LIMITS.oneDiffMax) {
    // One apart: the record whose removal makes our fingerprint theirs is the one they lack.
    for (const id of await view.ids(r)) {
      if (sameBytes(fingerprint({count: theirCount, sum: (mine.sum - idValue(id) + MOD) % MOD}), hash)) {
        out.peerLacks.push(id)
        return
      }
    }
  }
  if (theirCount === mine.count + 1 && theirCount <= LIMITS.oneDiffMax) {
    // They are probably one ahead: send ours back so they can find it (only they hold its id).
    out.reply.push(fpFrame(r, mine))
    return
  }
  if (mine.count <= LIMITS.idsMax || (dense(mine.count, theirCount) && !aheadOfTop(view, r, mine.count, theirCount))) {
    out.reply.push({t: T.Ids, range: r, ids: await view.idList(r)})
    return
  }
  await split(view, r, mine, theirCount, out)
}

/** The peer may be ahead by records newer than ours: split() settles that case for a few bytes, never listing ids. */
const aheadOfTop = (view: LocalView, r: Range, mine: number, theirs: number) => r.a < r.b && theirs > mine && view.top >= r.a && view.top < r.b

/** Whether a differing range is answered with our ids instead of split (see LIMITS.denseRatio). */
function dense(mine: number, theirs: number): boolean {
  const d = Math.abs(mine - theirs)
  return mine <= LIMITS.denseIdsMax && d >= LIMITS.denseMin && d * LIMITS.denseRatio >= mine
}

/** Answer an id list: the peer holds exactly these ids in the range. */
async function onIds(view: LocalView, r: Range, theirs: IdList, out: Outcome): Promise<void> {
  out.compared++
  const mine = await view.idList(r)
  if (mine.count === 0) {
    // Holding nothing there: "count 0" (a few bytes) gets their records as surely as listing
    // back every id they just sent (32 bytes each), in the same number of round trips.
    if (theirs.count) out.reply.push(fpFrame(r, {count: 0, sum: 0n}))
    return
  }
  // One index, over ours (our ids are BLAKE3 outputs, so it stays balanced whatever the peer
  // sends); probing it with theirs finds what we lack and marks what they hold, and ours left
  // unmarked are what they lack. A peer that repeats ids in its list can only miss records we
  // would have sent it.
  const index = new IdIndex(mine)
  const t = theirs.bytes
  for (let off = 0; off < t.length; off += ID_BYTES) {
    if (index.probe(t, off)) continue
    out.iLack.push(t.toString('hex', off, off + ID_BYTES))
    out.iLackIn.push(r)
  }
  const seen = index.seen
  for (let i = 0; i < seen.length; i++) if (seen[i] === 0) out.peerLacks.push(mine.hex(i))
}

/** Ids read ahead per store call while answering a message. */
const PREFETCH_IDS = 65_536

/** Whether answering this frame will read ids (decided from counts and bucket sums alone). */
function needsIds(view: LocalView, f: Frame): boolean {
  if (f.t === T.Ids) return true
  if (f.t !== T.Fp) return false
  const r = f.range
  if (r.bits > 0) return true
  const mine = view.bucketSummary(r)
  if (mine.count === f.count && (mine.count === 0 || sameBytes(fingerprint(mine), f.hash))) return false
  if (f.count === 0) return mine.count <= LIMITS.giveMax
  if (mine.count === 0) return false
  if (mine.count === f.count + 1 && mine.count <= LIMITS.oneDiffMax) return true
  if (f.count === mine.count + 1 && f.count <= LIMITS.oneDiffMax) return false
  return mine.count <= LIMITS.idsMax || (dense(mine.count, f.count) && !aheadOfTop(view, r, mine.count, f.count)) || r.a === r.b
}

/** Run every range frame of a message through the comparison. */
export async function respond(view: LocalView, frames: readonly Frame[], out: Outcome = newOutcome(), maxReplyBytes = Infinity): Promise<Outcome> {
  const ranges = frames.filter((f) => f.t === T.Fp || f.t === T.Ids)
  let bytes = 0
  let counted = 0
  let fetched = 0
  for (let i = 0; i < ranges.length; i++) {
    const f = ranges[i]
    // Stop once the reply is big enough; the caller reports how many frames were handled, and
    // the peer sends the rest again.
    if (bytes > maxReplyBytes) break
    if (i === fetched) {
      // Ids are read for the next frames in one store call, up to about PREFETCH_IDS of them:
      // enough to batch the small ranges, few enough that frames left unanswered (the budget
      // ran out) were not read for nothing.
      const want: Range[] = []
      let ids = 0
      // No further ahead than the reply budget can still take as id lists (32 bytes an id).
      const ahead = Math.min(PREFETCH_IDS, Math.max(0, maxReplyBytes - bytes) / 32)
      while (fetched < ranges.length && (want.length === 0 || ids < ahead)) {
        const g = ranges[fetched++]
        if (!needsIds(view, g)) continue
        const r = (g as {range: Range}).range
        want.push(r)
        ids += view.countUpper(r)
      }
      await view.prefetch(want)
    }
    if (f.t === T.Fp) await onFp(view, f.range, f.count, f.hash, out)
    else if (f.t === T.Ids) await onIds(view, f.range, f.ids, out)
    out.handled++
    for (; counted < out.reply.length; counted++) {
      const r = out.reply[counted]
      bytes += r.t === T.Ids ? 8 + r.ids.bytes.length : 24
    }
  }
  return out
}

/** Frames of a message that carry ranges, in order (what `handled` counts). */
export const rangeFrames = (frames: readonly Frame[]) => frames.filter((f) => f.t === T.Fp || f.t === T.Ids)

/**
 * The initiator's first ranges: its history before the newest bucket in about equal-count
 * ranges, the newest bucket as ids when small, and "nothing after that". A peer that is merely
 * ahead, or identical, is settled in one round trip.
 */
export async function opening(view: LocalView): Promise<Frame[]> {
  const top = view.top
  if (top < 0) return [{t: T.Fp, range: {a: 0, b: MAX_BUCKET, bits: 0, prefix: 0}, count: 0, hash: new Uint8Array(0)}]
  const frames: Frame[] = []
  if (top > 0) {
    for (const p of partition(view.bucketsIn(0, top - 1), 0, top - 1, LIMITS.openingRanges)) frames.push(fpFrame(p, await view.summary(p)))
  }
  const last: Range = {a: top, b: top, bits: 0, prefix: 0}
  const s = await view.summary(last)
  frames.push(s.count <= LIMITS.openingIds ? {t: T.Ids, range: last, ids: await view.idList(last)} : fpFrame(last, s))
  if (top < MAX_BUCKET) frames.push({t: T.Fp, range: {a: top + 1, b: MAX_BUCKET, bits: 0, prefix: 0}, count: 0, hash: new Uint8Array(0)})
  return frames
}

/** The root fingerprint of a whole store, as hex: equal roots mean equal sets. */
export async function rootFingerprint(view: LocalView): Promise<{count: number; fingerprint: string}> {
  const t = view.total
  return {count: t.count, fingerprint: Buffer.from(fingerprint(t)).toString('hex')}
}
