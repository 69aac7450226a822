/** Per-line ingest logic shared by worker threads and the inline path: parse, sign plain facts, verify signed ones. */
import {isUtf8} from 'node:buffer'
import {RecordError} from '../core/errors.js'
import {checkRecordRaw, sealRaw, type Sealed, type SealedRaw} from '../core/seal.js'
import {keyPairFromSeed, type KeyPair} from '../core/sign.js'
import {textTooDeep, tooDeepReason, typeName, type Kind} from '../core/record.js'
import {stampAt, type Stamp} from '../core/hlc.js'
import {bucketOf} from '../core/bucket.js'
import type {RecordColumns} from '../core/store.js'
import {scanJson} from '../core/json-scan.js'

export interface ChunkJob {
  seq: number
  /** Raw lines (NDJSON) or JSON texts of elements/rows; '' lines are skipped. */
  lines?: string[]
  /** Or: NDJSON bytes of whole lines, split by the worker (so the main thread never decodes them). */
  text?: Uint8Array
  /** Input line number of each entry (1-based). */
  lineNos: number[] | {first: number}
  /** HLC stamps for plain facts: entry i gets stampAt(stamp, i); absent when there is no local key. */
  stamp?: Stamp
  /** Hand back the records as columns (for Store.insertColumns) instead of Sealed objects. */
  columnar?: boolean
  nowMs: number
  skewMs: number
  /** When set, only records signed by these agents are accepted (the daemon's allowlist). */
  allowAgents?: string[]
}

export interface LineError {
  line: number
  id?: string
  reason: string
}

export interface ChunkResult {
  seq: number
  /** The good records, unless the job asked for columns. */
  ok: Sealed[]
  cols?: RecordColumns
  errors: LineError[]
  lines: number
  /** Highest hlc among verified records, for the clock. */
  maxHlc?: string
}

const SIGNED_ONLY = ['agent', 'hlc', 'id']

/** The id in the tail a record line ends with, `,"id":"<64 hex>","sig":"<hex>"}`. */
const TAIL_ID = /"id":"([0-9a-f]{64})","sig":"[0-9a-f]*"\}\s*$/

export function lineNo(job: ChunkJob, i: number): number {
  return Array.isArray(job.lineNos) ? job.lineNos[i] : job.lineNos.first + i
}

/** Process one chunk: every entry ends either in `ok` (or `cols`) or in `errors` with its line number. */
export function processChunk(job: ChunkJob, key: KeyPair | undefined, noKeyReason?: string): ChunkResult {
  const ok: Sealed[] = []
  const errors: LineError[] = []
  let maxHlc: string | undefined
  let count = 0
  let lines: string[]
  let invalid: Set<number> | undefined
  if (job.lines) lines = job.lines
  else ({lines, invalid} = splitLines(job.text!))
  const cols = job.columnar ? new ColumnBuilder(lines.length) : undefined
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]
    if (text.length === 0 || (text.length < 4 && text.trim() === '')) continue
    count++
    const line = lineNo(job, i)
    if (invalid !== undefined && invalid.has(i)) {
      errors.push({line, reason: NOT_UTF8})
      continue
    }
    let obj: unknown
    if (textTooDeep(text)) {
      errors.push({line, reason: `record: ${tooDeepReason}`})
      continue
    }
    try {
      obj = JSON.parse(text)
    } catch (e) {
      // A stored record's line is its text with the id and signature appended (recordLine): when
      // the text is broken (a damaged row sync sent on as it was stored), the tail still names it.
      const id = TAIL_ID.exec(text)?.[1]
      errors.push({line, ...(id ? {id} : {}), reason: `not valid JSON: ${(e as Error).message}`})
      continue
    }
    try {
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new RecordError('record', `must be a JSON object, got ${typeName(obj)}`)
      const o = obj as Record<string, unknown>
      let raw: SealedRaw
      if ('sig' in o) {
        raw = checkRecordRaw(o, {nowMs: job.nowMs, skewMs: job.skewMs})
        const {record} = raw.sealed
        if (job.allowAgents && !job.allowAgents.includes(record.agent)) throw new RecordError('agent', 'is not on the allowlist of agents this store accepts records from')
        if (maxHlc === undefined || record.hlc > maxHlc) maxHlc = record.hlc
      } else {
        const stray = SIGNED_ONLY.find((f) => f in o)
        if (stray) throw new RecordError(stray, `is set but the record has no sig: a plain fact gets agent, hlc and id when the local key signs it; remove ${stray}, or supply the signed record with its sig`)
        if (!key || !job.stamp) throw new RecordError('sig', `is missing and there is no local key to sign plain facts with (${noKeyReason ?? 'no key'})`)
        const changed = changedByParsing(text, 'record')
        if (changed) throw changed
        const body = {...o, v: o.v ?? 1, kind: o.kind ?? 'assertion', agent: key.publicHex, hlc: stampAt(job.stamp, i)} as Record<string, unknown>
        if (body.kind === 'assertion' && body.confidence === undefined) body.confidence = 1
        raw = sealRaw(body as never, key)
      }
      if (cols) cols.add(raw.sealed, raw.idBytes, raw.sigBytes)
      else ok.push(raw.sealed)
    } catch (e) {
      if (!(e instanceof RecordError)) throw e
      const claimed = obj !== null && typeof obj === 'object' ? (obj as {id?: unknown}).id : undefined
      const id = typeof claimed === 'string' ? claimed.slice(0, 64) : undefined
      errors.push({line, id, reason: e.message})
    }
  }
  const out: ChunkResult = {seq: job.seq, ok, errors, lines: count, maxHlc}
  if (cols) out.cols = cols.done()
  return out
}

/**
 * What JSON.parse would change in JSON text written by hand before it is signed, as `steme assert`
 * refuses it: a key given twice (the parser keeps the last, silently) and a number JSON cannot
 * carry as typed (an integer past 2^53 would be rounded, 1e400 is out of range). Signed records
 * need no such look: their id is checked against what the parser read.
 */
export function changedByParsing(text: string, field: string): RecordError | undefined {
  const found = scanJson(text)
  if (found.key !== undefined) return new RecordError(field, `the key ${JSON.stringify(found.key)} appears twice in one object; JSON keeps only the last, silently: write each key once`)
  if (!found.changed) return undefined
  const {typed, read} = found.changed
  return new RecordError(field, `the number ${typed} ${read === undefined ? 'is out of range for JSON' : `would be rounded to ${read} when signed`}: write it as a string ("${typed}") to keep it as typed`)
}

/** Why a line whose bytes are not UTF-8 is rejected (decoded, it would be signed with U+FFFD in place of them). */
export const NOT_UTF8 = 'not valid UTF-8 (convert the input to UTF-8)'

/**
 * NDJSON bytes as lines (a trailing newline ends the last line; CR LF endings are accepted; a
 * byte order mark at the start is dropped, as TextDecoder does). Each line is decoded on its own:
 * decoding a whole chunk into one string put ~650 KB in V8's large-object space per chunk (fresh
 * pages each time) and split it into slices; per line, 100k records took 20 ms instead of 150.
 * The chunk is checked for UTF-8 in one native call; only when that fails is each line checked,
 * and the indexes of those that are not UTF-8 are returned in `invalid`.
 */
function splitLines(bytes: Uint8Array): {lines: string[]; invalid?: Set<number>} {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const lines: string[] = []
  const invalid = pushLines(b, b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0, b.length, lines, undefined)
  return {lines, invalid}
}

/**
 * Decode the lines of b[at, stop) onto `lines` (each ends at a newline or at stop; a CR before the
 * newline is dropped). The span is checked for UTF-8 in one native call, and each line only when
 * that fails (a newline byte is never inside a UTF-8 sequence, so this is exact); the indexes in
 * `lines` of those that are not UTF-8 are added to `invalid`, which is returned.
 */
export function pushLines(b: Buffer, at: number, stop: number, lines: string[], invalid: Set<number> | undefined): Set<number> | undefined {
  const each = !isUtf8(b.subarray(at, stop))
  while (at < stop) {
    let nl = b.indexOf(10, at)
    if (nl < 0 || nl > stop) nl = stop
    const end = nl > at && b[nl - 1] === 13 ? nl - 1 : nl
    if (each && !isUtf8(b.subarray(at, end))) (invalid ??= new Set()).add(lines.length)
    lines.push(b.toString('utf8', at, end))
    at = nl + 1
  }
  return invalid
}

/** Records summed per bucket before the half sums fold into BigInt: 2^20 x (2^32 - 1) < 2^53. */
const HALVES_FOLD = 1 << 20

/** Collects good records as RecordColumns; ids and signatures go into one buffer each (transferable). */
export class ColumnBuilder {
  private n = 0
  private readonly ids: Buffer
  private readonly sigs: Buffer
  private readonly view: DataView
  /** Per bucket: count, then each limb's high and low 32-bit halves summed (see add). */
  private readonly halves = new Map<number, number[]>()
  private readonly c: Omit<RecordColumns, 'n' | 'ids' | 'sigs'> = {
    kind: [],
    agent: [],
    hlc: [],
    subject: [],
    predicate: [],
    target: [],
    source: [],
    canonical: [],
    refs: {row: [], dst: [], rel: []},
    sums: new Map(),
  }

  constructor(max: number) {
    // Not from Buffer's shared pool: the whole ArrayBuffer is handed to the other thread.
    this.ids = Buffer.allocUnsafeSlow(32 * max)
    this.sigs = Buffer.allocUnsafeSlow(64 * max)
    this.view = new DataView(this.ids.buffer, this.ids.byteOffset, this.ids.length)
  }

  /** Add a record; with its id and signature as bytes when the caller has them (else decoded from hex). */
  add({record: r, canonical}: Sealed, idBytes?: Uint8Array, sigBytes?: Uint8Array): void {
    const i = this.n++
    const c = this.c
    if (idBytes?.length === 32) this.ids.set(idBytes, i * 32)
    else this.ids.write(r.id, i * 32, 'hex')
    if (sigBytes?.length === 64) this.sigs.set(sigBytes, i * 64)
    else this.sigs.write(r.sig, i * 64, 'hex')
    c.kind.push(r.kind as Kind)
    c.agent.push(r.agent)
    c.hlc.push(r.hlc)
    c.canonical.push(canonical)
    if (r.kind === 'assertion') {
      c.subject.push(r.subject)
      c.predicate.push(r.predicate)
      c.target.push(null)
      c.source.push(r.source ?? null)
      for (const dst of r.evidence ?? []) this.ref(i, dst, 'evidence')
      for (const dst of r.supersedes ?? []) this.ref(i, dst, 'supersedes')
    } else {
      c.subject.push(null)
      c.predicate.push(null)
      c.target.push(r.kind === 'epoch' ? null : (r.target ?? null))
      c.source.push(r.kind === 'retract' ? (r.source ?? null) : null)
    }
    const b = bucketOf(r.hlc)
    let acc = this.halves.get(b)
    if (!acc) this.halves.set(b, (acc = new Array<number>(9).fill(0)))
    // Each 64-bit limb summed as two 32-bit halves in doubles, exact below 2^21 records;
    // folded into BigInt limbs in done() (a BigInt per limb per record was a tenth of this method).
    const v = this.view
    const o = i * 32
    acc[0]++
    for (let k = 0; k < 4; k++) {
      acc[1 + 2 * k] += v.getUint32(o + 8 * k)
      acc[2 + 2 * k] += v.getUint32(o + 8 * k + 4)
    }
    if (acc[0] === HALVES_FOLD) this.fold(b, acc)
  }

  /** Move a bucket's half sums into its BigInt limb sums. */
  private fold(b: number, acc: number[]): void {
    let out = this.c.sums.get(b)
    if (!out) this.c.sums.set(b, (out = [0, 0n, 0n, 0n, 0n]))
    out[0] += acc[0]
    for (let k = 1; k <= 4; k++) out[k] = (out[k] as bigint) + (BigInt(acc[2 * k - 1]) << 32n) + BigInt(acc[2 * k])
    acc.fill(0)
  }

  private ref(row: number, dst: string, rel: 'evidence' | 'supersedes') {
    this.c.refs.row.push(row)
    this.c.refs.dst.push(dst)
    this.c.refs.rel.push(rel)
  }

  done(): RecordColumns {
    for (const [b, acc] of this.halves) if (acc[0] > 0) this.fold(b, acc)
    this.halves.clear()
    return {n: this.n, ids: this.ids.subarray(0, 32 * this.n), sigs: this.sigs.subarray(0, 64 * this.n), ...this.c}
  }
}

export function keyFromSeedHex(seedHex: string | undefined): KeyPair | undefined {
  return seedHex ? keyPairFromSeed(Buffer.from(seedHex, 'hex')) : undefined
}
