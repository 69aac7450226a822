/** Per-line ingest logic shared by worker threads and the inline path: parse, sign plain facts, verify signed ones. */
import {RecordError} from '../core/errors.js'
import {checkRecord, seal, type Sealed} from '../core/seal.js'
import {keyPairFromSeed, type KeyPair} from '../core/sign.js'
import {textTooDeep, tooDeepReason, typeName} from '../core/record.js'

export interface ChunkJob {
  seq: number
  /** Raw lines (NDJSON) or JSON texts of elements/rows; '' lines are skipped. */
  lines: string[]
  /** Input line number of each entry (1-based). */
  lineNos: number[] | {first: number}
  /** HLC stamps for plain facts, one per entry; absent when there is no local key. */
  stamps?: string[]
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
  ok: Sealed[]
  errors: LineError[]
  lines: number
  /** Highest hlc among verified records, for the clock. */
  maxHlc?: string
}

const SIGNED_ONLY = ['agent', 'hlc', 'id']

export function lineNo(job: ChunkJob, i: number): number {
  return Array.isArray(job.lineNos) ? job.lineNos[i] : job.lineNos.first + i
}

/** Process one chunk: every entry ends either in `ok` or in `errors` with its line number. */
export function processChunk(job: ChunkJob, key: KeyPair | undefined, noKeyReason?: string): ChunkResult {
  const ok: Sealed[] = []
  const errors: LineError[] = []
  let maxHlc: string | undefined
  let count = 0
  for (let i = 0; i < job.lines.length; i++) {
    const text = job.lines[i]
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
        if (!key || !job.stamps) throw new RecordError('sig', `is missing and there is no local key to sign plain facts with (${noKeyReason ?? 'no key'})`)
        const body = {...o, v: o.v ?? 1, kind: o.kind ?? 'assertion', agent: key.publicHex, hlc: job.stamps[i]} as Record<string, unknown>
        if (body.kind === 'assertion' && body.confidence === undefined) body.confidence = 1
        sealed = seal(body as never, key)
      }
      ok.push(sealed)
    } catch (e) {
      if (!(e instanceof RecordError)) throw e
      const claimed = obj !== null && typeof obj === 'object' ? (obj as {id?: unknown}).id : undefined
      const id = typeof claimed === 'string' ? claimed.slice(0, 64) : undefined
      errors.push({line, id, reason: e.message})
    }
  }
  return {seq: job.seq, ok, errors, lines: count, maxHlc}
}

export function keyFromSeedHex(seedHex: string | undefined): KeyPair | undefined {
  return seedHex ? keyPairFromSeed(Buffer.from(seedHex, 'hex')) : undefined
}
