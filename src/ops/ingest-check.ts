/** Per-line ingest logic shared by worker threads and the inline path: parse, sign plain facts, verify signed ones. */
import {RecordError} from '../core/errors.js'
import {checkRecord, seal, type Sealed} from '../core/seal.js'
import {keyPairFromSeed, type KeyPair} from '../core/sign.js'
import {textTooDeep, tooDeepReason, typeName, type Kind} from '../core/record.js'
import {stampAt, type Stamp} from '../core/hlc.js'
import {bucketOf} from '../core/bucket.js'
import type {RecordColumns} from '../core/store.js'

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

export function lineNo(job: ChunkJob, i: number): number {
  return Array.isArray(job.lineNos) ? job.lineNos[i] : job.lineNos.first + i
}

const decoder = new TextDecoder()

/** Process one chunk: every entry ends either in `ok` (or `cols`) or in `errors` with its line number. */
export function processChunk(job: ChunkJob, key: KeyPair | undefined, noKeyReason?: string): ChunkResult {
  const ok: Sealed[] = []
  const errors: LineError[] = []
  let maxHlc: string | undefined
  let count = 0
  const lines = job.lines ?? splitLines(job.text!)
  const cols = job.columnar ? new ColumnBuilder(lines.length) : undefined
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]
    if (text.length === 0 || (text.length < 4 && text.trim() === '')) continue
    count++
    const line = lineNo(job, i)
    let obj: unknown
    if (textTooDeep(text)) {
      errors.push({line, reason: `record: ${tooDeepReason}`})
      continue
    }
    try {
      obj = JSON.parse(text)
    } catch (e) {
      errors.push({line, reason: `not valid JSON: ${(e as Error).message}`})
      continue
    }
    try {
      if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new RecordError('record', `must be a JSON object, got ${typeName(obj)}`)
      const o = obj as Record<string, unknown>
      let sealed: Sealed
      if ('sig' in o) {
        sealed = checkRecord(o, {nowMs: job.nowMs, skewMs: job.skewMs})
        if (job.allowAgents && !job.allowAgents.includes(sealed.record.agent)) throw new RecordError('agent', 'is not on the allowlist of agents this store accepts records from')
        if (maxHlc === undefined || sealed.record.hlc > maxHlc) maxHlc = sealed.record.hlc
      } else {
        const stray = SIGNED_ONLY.find((f) => f in o)
        if (stray) throw new RecordError(stray, `is set but the record has no sig: a plain fact gets agent, hlc and id when the local key signs it; remove ${stray}, or supply the signed record with its sig`)
        if (!key || !job.stamp) throw new RecordError('sig', `is missing and there is no local key to sign plain facts with (${noKeyReason ?? 'no key'})`)
        const body = {...o, v: o.v ?? 1, kind: o.kind ?? 'assertion', agent: key.publicHex, hlc: stampAt(job.stamp, i)} as Record<string, unknown>
        if (body.kind === 'assertion' && body.confidence === undefined) body.confidence = 1
        sealed = seal(body as never, key)
      }
      if (cols) cols.add(sealed)
      else ok.push(sealed)
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

/** NDJSON bytes as lines (a trailing newline ends the last line; CR LF endings are accepted). */
function splitLines(bytes: Uint8Array): string[] {
  const lines = decoder.decode(bytes).split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  for (let i = 0; i < lines.length; i++) if (lines[i].endsWith('\r')) lines[i] = lines[i].slice(0, -1)
  return lines
}

/** Collects good records as RecordColumns; ids and signatures go into one buffer each (transferable). */
export class ColumnBuilder {
  private n = 0
  private readonly ids: Buffer
  private readonly sigs: Buffer
  private readonly view: DataView
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

  add({record: r, canonical}: Sealed): void {
    const i = this.n++
    const c = this.c
    this.ids.write(r.id, i * 32, 'hex')
    this.sigs.write(r.sig, i * 64, 'hex')
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
    let acc = c.sums.get(b)
    if (!acc) c.sums.set(b, (acc = [0, 0n, 0n, 0n, 0n]))
    const v = this.view
    const o = i * 32
    acc[0]++
    acc[1] += v.getBigUint64(o)
    acc[2] += v.getBigUint64(o + 8)
    acc[3] += v.getBigUint64(o + 16)
    acc[4] += v.getBigUint64(o + 24)
  }

  private ref(row: number, dst: string, rel: 'evidence' | 'supersedes') {
    this.c.refs.row.push(row)
    this.c.refs.dst.push(dst)
    this.c.refs.rel.push(rel)
  }

  done(): RecordColumns {
    return {n: this.n, ids: this.ids.subarray(0, 32 * this.n), sigs: this.sigs.subarray(0, 64 * this.n), ...this.c}
  }
}

export function keyFromSeedHex(seedHex: string | undefined): KeyPair | undefined {
  return seedHex ? keyPairFromSeed(Buffer.from(seedHex, 'hex')) : undefined
}
