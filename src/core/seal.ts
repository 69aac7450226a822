/** Ids and signatures: seal a body with a key, and verify a received record end to end. */
import {canonicalize, keysInOrder} from './canonical.js'
import {RecordError} from './errors.js'
import {blake3, fromHex, toHex} from './hash.js'
import {parseHlc} from './hlc.js'
import {BOUNDS, bodyOf, checkShape, type AssertionBody, type RecordBody, type SignedRecord} from './record.js'
import {verify, type KeyPair} from './sign.js'

/** A validated record together with its canonical body text, the form stores keep verbatim. */
export interface Sealed {
  record: SignedRecord
  /** RFC 8785 text of the record without id and sig; BLAKE3 of it is the id. */
  canonical: string
}

export function canonicalBody(body: RecordBody): string {
  return checkSize(canonicalize(body), body)
}

/**
 * The bounds are UTF-8 bytes (the canonical encoding is UTF-8). A UTF-16 unit is at most 3 bytes,
 * so text within a third of a bound is within it without counting: the hot path costs one compare.
 */
function checkSize(text: string, body: RecordBody): string {
  if (text.length * 3 <= BOUNDS.value) return text
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > BOUNDS.value && body.kind === 'assertion') {
    const value = canonicalize((body as AssertionBody).value)
    const valueBytes = value.length * 3 <= BOUNDS.value ? 0 : Buffer.byteLength(value, 'utf8')
    if (valueBytes > BOUNDS.value) throw new RecordError('value', `is ${valueBytes} bytes as canonical JSON (UTF-8), the bound is ${BOUNDS.value}`)
  }
  if (bytes > BOUNDS.line) throw new RecordError('record', `is ${bytes} bytes as canonical JSON (UTF-8), the bound is ${BOUNDS.line}`)
  return text
}

export function seal(body: RecordBody, key: KeyPair): Sealed {
  return sealRaw(body, key).sealed
}

/** A sealed record with its id and signature as bytes too: bulk paths store the bytes without a hex round trip. */
export interface SealedRaw {
  sealed: Sealed
  idBytes: Uint8Array
  sigBytes: Uint8Array
}

export function sealRaw(body: RecordBody, key: KeyPair): SealedRaw {
  checkShape(body, false)
  if (body.agent !== key.publicHex) throw new RecordError('agent', 'is not the public key of the signing key')
  const canonical = canonicalBody(body)
  const idBytes = blake3(canonical)
  const sigBytes = key.sign(idBytes)
  const record = {...body, id: toHex(idBytes), sig: toHex(sigBytes)} as SignedRecord
  return {sealed: {record, canonical}, idBytes, sigBytes}
}

export interface CheckOptions {
  /** Wall clock now, ms; records stamped further ahead than `skewMs` are refused. */
  nowMs: number
  skewMs: number
  /** Skip the signature (only when a worker pool verifies it separately). */
  skipSignature?: boolean
}

/** Length of `,"id":"<64 hex>","sig":"<128 hex>"}`: what recordLine() appends to a canonical body. */
const SIGNED_TAIL = 210

/**
 * The canonical body of a shape-checked signed record. A record parsed from its interchange
 * line (keys in canonical order, id and sig last) is canonical as JSON.stringify writes it,
 * less the id/sig tail; anything else is rebuilt key by key.
 */
function canonicalOfSigned(record: SignedRecord): string {
  const keys = Object.keys(record)
  const n = keys.length
  if (keys[n - 2] === 'id' && keys[n - 1] === 'sig' && keysInOrder(record as unknown as Record<string, unknown>, 2)) {
    return checkSize(JSON.stringify(record).slice(0, -SIGNED_TAIL) + '}', record)
  }
  return canonicalBody(bodyOf(record))
}

/** Validate a received record: shape, bounds, clock skew, id, signature. Throws RecordError. */
export function checkRecord(obj: unknown, opts: CheckOptions): Sealed {
  return checkRecordRaw(obj, opts).sealed
}

/** checkRecord, with the id and signature as bytes too. */
export function checkRecordRaw(obj: unknown, opts: CheckOptions): SealedRaw {
  checkShape(obj, true)
  const record = obj as unknown as SignedRecord
  const wall = parseHlc(record.hlc).wall
  if (wall > opts.nowMs + opts.skewMs) {
    throw new RecordError('hlc', `is ${Math.round((wall - opts.nowMs) / 1000)} s in the future, beyond the allowed clock skew of ${opts.skewMs / 1000} s`)
  }
  const canonical = canonicalOfSigned(record)
  const idBytes = blake3(canonical)
  // Compared as bytes (the shape check has made id 64 lowercase hex): ~0.5 µs less than as hex.
  if (!Buffer.from(record.id, 'hex').equals(idBytes)) throw new RecordError('id', `does not match the content (BLAKE3 of the canonical record is ${toHex(idBytes)})`)
  const sigBytes = Buffer.from(record.sig, 'hex')
  if (!opts.skipSignature && !verify(record.agent, idBytes, sigBytes)) {
    throw new RecordError('sig', 'does not verify against agent for this id')
  }
  return {sealed: {record, canonical}, idBytes, sigBytes}
}

/** Re-check a stored record (fsck): canonical text hashes to the id, and the signature holds. */
export function checkStored(id: string, canonical: string, agent: string, sig: string): string | undefined {
  const idBytes = blake3(canonical)
  if (toHex(idBytes) !== id) return `id does not match the stored content (content hashes to ${toHex(idBytes)})`
  if (!verify(agent, idBytes, fromHex(sig))) return 'signature does not verify'
  return undefined
}

/** Interchange form of a stored record: its canonical body with id and sig appended. */
export function recordLine(canonical: string, id: string, sig: string): string {
  return `${canonical.slice(0, -1)},"id":"${id}","sig":"${sig}"}`
}
