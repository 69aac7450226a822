/** The five record kinds of DESIGN.md §1, their bounds, and shape validation with precise reasons. */
import {RecordError} from './errors.js'
import {field} from './text.js'
import {HLC_RE, parseDate} from './hlc.js'
import {isHex} from './hash.js'

export type Json = null | boolean | number | string | Json[] | {[k: string]: Json}

export const KINDS = ['assertion', 'vote', 'retract', 'epoch', 'trust'] as const
export type Kind = (typeof KINDS)[number]

interface Common {
  v: 1
  agent: string
  hlc: string
}

export interface AssertionBody extends Common {
  kind: 'assertion'
  subject: string
  predicate: string
  value: Json
  confidence: number
  source?: string
  epoch?: string
  evidence?: string[]
  supersedes?: string[]
  valid?: {from?: string; to?: string}
}
export interface VoteBody extends Common {
  kind: 'vote'
  target: string
  weight: 1 | -1 | 0
}
export interface RetractBody extends Common {
  kind: 'retract'
  target?: string
  source?: string
  reason?: string
}
export interface EpochBody extends Common {
  kind: 'epoch'
  name: string
  starts: string
  note?: string
}
export interface TrustBody extends Common {
  kind: 'trust'
  target: string
  weight: number
}

/** A record before it has an id and signature. */
export type RecordBody = AssertionBody | VoteBody | RetractBody | EpochBody | TrustBody
export type Signed<T extends RecordBody = RecordBody> = T & {id: string; sig: string}
export type SignedRecord = Signed
/**
 * An assertion as queries and lenses read it. Its signature may be left out: it was checked when
 * the record came in (and fsck checks it again), nothing in resolving reads it, and on a cold
 * store every extra column a subject lookup fetches is one more block read per record.
 */
export type Assertion = AssertionBody & {id: string; sig?: string}
export type SignedAssertion = Signed<AssertionBody>
export type Vote = Signed<VoteBody>
export type Retract = Signed<RetractBody>
export type Epoch = Signed<EpochBody>
export type Trust = Signed<TrustBody>

/** Size bounds, documented in docs/records.md; every way in enforces them. */
export const BOUNDS = {
  line: 256 * 1024,
  subject: 512,
  predicate: 256,
  source: 1024,
  epoch: 256,
  text: 4096,
  value: 64 * 1024,
  evidence: 256,
  supersedes: 64,
  /** Levels of arrays and objects, the record itself being level 1: deeper JSON would exhaust the stack of recursive encoders. */
  depth: 64,
} as const

/** Deepest nesting of arrays and objects in a parsed JSON value, counted iteratively, stopping once past `max`. */
export function jsonDepth(v: unknown, max: number = BOUNDS.depth): number {
  let deepest = 0
  const stack: Array<[unknown, number]> = [[v, 1]]
  while (stack.length) {
    const [x, d] = stack.pop()!
    if (x === null || typeof x !== 'object') continue
    if (d > deepest) deepest = d
    if (deepest > max) return deepest
    for (const c of Array.isArray(x) ? x : Object.values(x)) if (c !== null && typeof c === 'object') stack.push([c, d + 1])
  }
  return deepest
}

/** Whether JSON text nests arrays and objects deeper than `max` (strings skipped); checked before parsing. */
export function textTooDeep(text: string, max: number = BOUNDS.depth): boolean {
  // Text with at most `max` opening brackets in all (strings included) cannot nest deeper: the
  // common case, settled by native searches instead of a loop over every character.
  let opens = 0
  for (let i = text.indexOf('{'); i !== -1 && opens <= max; i = text.indexOf('{', i + 1)) opens++
  for (let i = text.indexOf('['); i !== -1 && opens <= max; i = text.indexOf('[', i + 1)) opens++
  if (opens <= max) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped char
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 91 || c === 123) {
      if (++depth > max) return true
    } else if (c === 93 || c === 125) depth--
  }
  return false
}

export const tooDeepReason = `nests arrays and objects deeper than the bound of ${BOUNDS.depth} levels`

const FIELDS: Record<Kind, {required: string[]; optional: string[]}> = {
  assertion: {required: ['subject', 'predicate', 'value', 'confidence'], optional: ['source', 'epoch', 'evidence', 'supersedes', 'valid']},
  vote: {required: ['target', 'weight'], optional: []},
  retract: {required: [], optional: ['target', 'source', 'reason']},
  epoch: {required: ['name', 'starts'], optional: ['note']},
  trust: {required: ['target', 'weight'], optional: []},
}
const COMMON = ['v', 'kind', 'agent', 'hlc']
const SIGNED = ['id', 'sig']
/** Every top-level field some kind of record may have. */
export const RECORD_FIELDS: ReadonlySet<string> = new Set([...COMMON, ...SIGNED, ...Object.values(FIELDS).flatMap((f) => [...f.required, ...f.optional])])


function str(o: Record<string, unknown>, f: string, max: number, min = 1): string {
  const v = o[f]
  if (typeof v !== 'string') throw new RecordError(f, `must be a string, got ${typeName(v)}`)
  if (v.length < min) throw new RecordError(f, 'must not be empty')
  if (v.length > max) throw new RecordError(f, `is ${v.length} chars, the bound is ${max}`)
  return v
}

function hexField(v: unknown, f: string, len: number): string {
  if (typeof v !== 'string') throw new RecordError(f, `must be a ${len}-char lowercase hex string, got ${typeName(v)}`)
  if (!isHex(v, len)) throw new RecordError(f, `must be ${len} lowercase hex chars, got "${field(v.length > 80 ? v.slice(0, 80) + '…' : v)}"`)
  return v
}

function isoDate(v: unknown, f: string): string {
  if (typeof v !== 'string' || Number.isNaN(parseDate(v))) {
    throw new RecordError(f, `must be an ISO-8601 date such as 2026-01-31 or 2026-01-31T12:00:00Z, got ${JSON.stringify(v)}`)
  }
  return v
}

function idList(o: Record<string, unknown>, f: string, max: number): void {
  const v = o[f]
  if (!Array.isArray(v)) throw new RecordError(f, `must be an array of record ids, got ${typeName(v)}`)
  if (v.length === 0) throw new RecordError(f, 'must not be empty (omit the field instead)')
  if (v.length > max) throw new RecordError(f, `has ${v.length} ids, the bound is ${max}`)
  v.forEach((x, i) => hexField(x, `${f}[${i}]`, 64))
  if (new Set(v).size !== v.length) throw new RecordError(f, 'lists the same id twice')
}

const article = (kind: string) => (/^[aeiou]/.test(kind) ? `an ${kind}` : `a ${kind}`)

export function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  return typeof v === 'object' ? 'an object' : typeof v
}

/**
 * Check that `o` is a well-formed record body (and, if `signed`, carries id and sig of the
 * right shape). Throws RecordError naming the first bad field. Does not check the id or
 * signature values themselves: that is verify.ts.
 */
export function checkShape(o: unknown, signed: boolean): asserts o is RecordBody {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new RecordError('record', `must be a JSON object, got ${typeName(o)}`)
  if (jsonDepth(o) > BOUNDS.depth) throw new RecordError('record', tooDeepReason)
  const r = o as Record<string, unknown>
  if (r.v !== 1) throw new RecordError('v', `must be 1, got ${JSON.stringify(r.v)}`)
  if (typeof r.kind !== 'string' || !(KINDS as readonly string[]).includes(r.kind)) {
    throw new RecordError('kind', `unknown kind ${JSON.stringify(r.kind)}; known kinds: ${KINDS.join(', ')}`)
  }
  const kind = r.kind as Kind
  hexField(r.agent, 'agent', 64)
  if (typeof r.hlc !== 'string' || !HLC_RE.test(r.hlc)) throw new RecordError('hlc', `must look like 0000019aa3c4d5e6-0000, got ${JSON.stringify(r.hlc)}`)
  const spec = FIELDS[kind]
  for (const k of Object.keys(r)) {
    if (r[k] === null) {
      const required = COMMON.includes(k) || spec.required.includes(k) || (signed && SIGNED.includes(k))
      throw new RecordError(k, required ? `is null, but ${article(kind)} record requires it (records never hold null)` : 'is null; omit optional fields instead')
    }
    if (!COMMON.includes(k) && !spec.required.includes(k) && !spec.optional.includes(k) && !(signed && SIGNED.includes(k))) {
      throw new RecordError(k, `is not a field of ${article(kind)} record`)
    }
  }
  for (const k of spec.required) if (!(k in r)) throw new RecordError(k, `is required in ${article(kind)} record`)
  if (signed) {
    hexField(r.id, 'id', 64)
    hexField(r.sig, 'sig', 128)
  }
  switch (kind) {
    case 'assertion': {
      str(r, 'subject', BOUNDS.subject)
      str(r, 'predicate', BOUNDS.predicate)
      if (r.value === undefined) throw new RecordError('value', 'is required')
      if (typeof r.confidence !== 'number' || !(r.confidence >= 0 && r.confidence <= 1)) {
        throw new RecordError('confidence', `must be a number in [0, 1], got ${JSON.stringify(r.confidence)}`)
      }
      if ('source' in r) str(r, 'source', BOUNDS.source)
      if ('epoch' in r) str(r, 'epoch', BOUNDS.epoch)
      if ('evidence' in r) idList(r, 'evidence', BOUNDS.evidence)
      if ('supersedes' in r) idList(r, 'supersedes', BOUNDS.supersedes)
      if ('valid' in r) {
        const v = r.valid
        if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new RecordError('valid', `must be an object {from?, to?}, got ${typeName(v)}`)
        const vv = v as Record<string, unknown>
        for (const k of Object.keys(vv)) if (k !== 'from' && k !== 'to') throw new RecordError(`valid.${k}`, 'is not a field of valid (only from and to)')
        if (!('from' in vv) && !('to' in vv)) throw new RecordError('valid', 'must have from or to (omit it instead)')
        if ('from' in vv) isoDate(vv.from, 'valid.from')
        if ('to' in vv) isoDate(vv.to, 'valid.to')
        if ('from' in vv && 'to' in vv && parseDate(vv.from as string) > parseDate(vv.to as string)) {
          throw new RecordError('valid', `from (${vv.from}) is after to (${vv.to})`)
        }
      }
      break
    }
    case 'vote':
      hexField(r.target, 'target', 64)
      if (r.weight !== 1 && r.weight !== -1 && r.weight !== 0) throw new RecordError('weight', `must be 1, -1 or 0, got ${JSON.stringify(r.weight)}`)
      break
    case 'retract':
      if ('target' in r === 'source' in r) throw new RecordError('target', 'a retraction names exactly one of target (a record id) or source')
      if ('target' in r) hexField(r.target, 'target', 64)
      if ('source' in r) str(r, 'source', BOUNDS.source)
      if ('reason' in r) str(r, 'reason', BOUNDS.text)
      break
    case 'epoch':
      str(r, 'name', BOUNDS.epoch)
      isoDate(r.starts, 'starts')
      if ('note' in r) str(r, 'note', BOUNDS.text)
      break
    case 'trust':
      hexField(r.target, 'target', 64)
      if (typeof r.weight !== 'number' || !(r.weight >= 0 && r.weight <= 1)) throw new RecordError('weight', `must be a number in [0, 1], got ${JSON.stringify(r.weight)}`)
      break
  }
}

/** The record without id and sig: what the id hashes. */
export function bodyOf(r: RecordBody | SignedRecord): RecordBody {
  if (!('id' in r) && !('sig' in r)) return r
  const {id: _id, sig: _sig, ...body} = r as SignedRecord
  return body as RecordBody
}
