/** Sync protocol v1 wire format: a message is a sequence of typed, length-prefixed frames. */
import {MAX_BUCKET} from '../core/bucket.js'
import {UserError} from '../core/errors.js'
import {ID_BYTES, IdList} from './ids.js'

export const PROTOCOL = 'steme-sync'
export const VERSION = 1
/** Hard bound on one message, either way; a peer sending more is cut off. */
export const MAX_MESSAGE = 16 * 1024 * 1024
/** What a sender aims to stay under, leaving room for the frames that follow records. */
export const SOFT_MESSAGE = 4 * 1024 * 1024

export enum T {
  Hello = 0x01,
  Error = 0x02,
  Fp = 0x10,
  Ids = 0x11,
  Need = 0x20,
  Offer = 0x21,
  /** NEED with the bucket span its ids lie in (capability `need-span`). */
  NeedIn = 0x22,
  Record = 0x30,
  Ack = 0x31,
}

/**
 * A range of the sync key space (bucket, id): buckets a..b inclusive; when `bits` > 0, a === b
 * and the range holds the ids of that bucket whose first `bits` bits equal `prefix`.
 */
export interface Range {
  a: number
  b: number
  bits: number
  prefix: number
}

export interface Hello {
  proto: string
  v: number
  caps: string[]
  mode?: 'pull' | 'push' | 'sync'
  max?: number
  /** Highest non-empty bucket of the sender, or -1. */
  top?: number
  records?: number
  /** Root fingerprint of the sender's whole set, hex. */
  root?: string
  /** Set by a server that could not list everything the client lacks in this response. */
  more?: boolean
  /** In a response: how many of the request's range frames were answered; the client resends the rest. */
  handled?: number
  /** In a response: range frames the server compared for this request. */
  compared?: number
}

export type Frame =
  | {t: T.Hello; hello: Hello}
  | {t: T.Error; code: string; message: string}
  | {t: T.Fp; range: Range; count: number; hash: Uint8Array}
  | {t: T.Ids; range: Range; ids: IdList}
  | {t: T.Need; ids: string[]}
  | {t: T.NeedIn; a: number; b: number; ids: string[]}
  | {t: T.Offer; ids: string[]}
  /** A record line: a string, or its UTF-8 bytes (what a store hands over for sending; decode gives strings). */
  | {t: T.Record; line: string | Uint8Array}
  | {t: T.Ack; added: number; present: number; rejected: number; errors: {id?: string; reason: string}[]}

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', {fatal: true})
export const FP_BYTES = 16
const EMPTY = new Uint8Array(0)

/** A growable byte buffer with varints; hex and UTF-8 strings are written in place. */
export class Writer {
  private buf: Buffer
  len = 0
  constructor(size = 1024) {
    this.buf = Buffer.allocUnsafe(size)
  }
  private ensure(n: number) {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const next = Buffer.allocUnsafe(size)
    this.buf.copy(next, 0, 0, this.len)
    this.buf = next
  }
  byte(v: number) {
    this.ensure(1)
    this.buf[this.len++] = v
  }
  varint(v: number) {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`varint out of range: ${v}`)
    this.ensure(8)
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.buf[this.len++] = v
  }
  bytes(b: Uint8Array) {
    this.ensure(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
  }
  /** A record id: 64 hex digits as 32 bytes. */
  id(h: string) {
    this.ensure(32)
    const n = h.length === 64 ? this.buf.write(h, this.len, 'hex') : 0
    // A frame's length is written before its ids: an id that is not 32 bytes of hex would make it lie.
    if (n !== 32) throw new Error(`not a hex id: ${h.slice(0, 80)}`)
    this.len += n
  }
  utf8(s: string, byteLength: number) {
    this.ensure(byteLength)
    this.len += this.buf.write(s, this.len, 'utf8')
  }
  /** Start over, keeping the buffer (a scratch writer for frame bodies). */
  reset() {
    this.len = 0
  }
  done(): Uint8Array {
    return this.buf.subarray(0, this.len)
  }
}

export class WireError extends UserError {
  constructor(message: string) {
    super(`malformed sync message: ${message}`, {code: 'remote', exit: 1, hint: 'the peer runs an incompatible or broken steme; upgrade both sides'})
  }
}

class Reader {
  pos = 0
  readonly buf: Buffer
  constructor(buf: Uint8Array) {
    this.buf = Buffer.from(buf.buffer, buf.byteOffset, buf.length)
  }
  get left() {
    return this.buf.length - this.pos
  }
  byte(): number {
    if (this.pos >= this.buf.length) throw new WireError('truncated frame')
    return this.buf[this.pos++]
  }
  varint(): number {
    let v = 0
    let mul = 1
    for (let i = 0; i < 8; i++) {
      const b = this.byte()
      v += (b & 0x7f) * mul
      if (b < 0x80) return v
      mul *= 0x80
    }
    throw new WireError('varint too long')
  }
  take(n: number): Uint8Array {
    if (n > this.left) throw new WireError('truncated frame')
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }
  hex(n: number): string {
    if (n > this.left) throw new WireError('truncated frame')
    this.pos += n
    return this.buf.toString('hex', this.pos - n, this.pos)
  }
}

// Ranges are written relative to the previous range's end, so runs of adjacent ranges cost a byte or two.
function putRange(w: Writer, r: Range, prev: {end: number}) {
  const d = r.a - prev.end
  w.varint(d >= 0 ? d * 2 : -d * 2 - 1)
  w.varint(r.b - r.a)
  w.byte(r.bits)
  if (r.bits > 0) w.varint(r.prefix)
  prev.end = r.b
}

function getRange(rd: Reader, prev: {end: number}): Range {
  const z = rd.varint()
  const a = prev.end + (z % 2 === 0 ? z / 2 : -(z + 1) / 2)
  const b = a + rd.varint()
  const bits = rd.byte()
  const prefix = bits > 0 ? rd.varint() : 0
  if (a < 0 || b > MAX_BUCKET || bits % 4 !== 0 || bits > 48 || (bits > 0 && a !== b) || prefix >= 2 ** bits) throw new WireError('bad range')
  prev.end = b
  return {a, b, bits, prefix}
}

const varintSize = (v: number) => {
  let n = 1
  while (v >= 0x80) {
    v = Math.floor(v / 0x80)
    n++
  }
  return n
}

function rangeSize(r: Range, prev: {end: number}): number {
  const d = r.a - prev.end
  prev.end = r.b
  return varintSize(d >= 0 ? d * 2 : -d * 2 - 1) + varintSize(r.b - r.a) + 1 + (r.bits > 0 ? varintSize(r.prefix) : 0)
}

const jsonSize = (f: Frame): number => {
  switch (f.t) {
    case T.Hello:
      return Buffer.byteLength(JSON.stringify(f.hello))
    case T.Error:
      return Buffer.byteLength(JSON.stringify({code: f.code, message: f.message}))
    case T.Ack:
      return Buffer.byteLength(JSON.stringify({added: f.added, present: f.present, rejected: f.rejected, errors: f.errors}))
    default:
      return 0
  }
}

/**
 * The exact length `encode(frames)` will have, without writing it: senders size their budgets
 * with it (encoding a message of id lists just to learn its length cost as much as sending it),
 * and `encode` allocates the message once at that size.
 */
export function encodedSize(frames: readonly Frame[]): number {
  const prev = {end: 0}
  let n = 0
  for (const f of frames) {
    let body: number
    switch (f.t) {
      case T.Record:
        body = lineBytes(f.line)
        break
      case T.Need:
      case T.Offer:
        body = 32 * f.ids.length
        break
      case T.NeedIn:
        body = varintSize(f.a) + varintSize(f.b - f.a) + 32 * f.ids.length
        break
      case T.Fp:
        body = rangeSize(f.range, prev) + varintSize(f.count) + (f.count > 0 ? f.hash.length : 0)
        break
      case T.Ids:
        body = rangeSize(f.range, prev) + varintSize(f.ids.count) + f.ids.bytes.length
        break
      default:
        body = jsonSize(f)
    }
    n += 1 + varintSize(body) + body
  }
  return n
}

export function encode(frames: readonly Frame[]): Uint8Array {
  const w = new Writer(Math.max(1, encodedSize(frames)))
  // One scratch writer for the bodies whose length is known only once written (small frames, id lists).
  const body = new Writer()
  const prev = {end: 0}
  const whole = (t: T, b: Uint8Array) => {
    w.byte(t)
    w.varint(b.length)
    w.bytes(b)
  }
  for (const f of frames) {
    switch (f.t) {
      case T.Hello:
        whole(f.t, enc.encode(JSON.stringify(f.hello)))
        continue
      case T.Error:
        whole(f.t, enc.encode(JSON.stringify({code: f.code, message: f.message})))
        continue
      case T.Ack:
        whole(f.t, enc.encode(JSON.stringify({added: f.added, present: f.present, rejected: f.rejected, errors: f.errors})))
        continue
      case T.Record: {
        // The bulk of a large sync: written straight into the message.
        const n = lineBytes(f.line)
        w.byte(f.t)
        w.varint(n)
        if (typeof f.line === 'string') w.utf8(f.line, n)
        else w.bytes(f.line)
        continue
      }
      case T.Need:
      case T.Offer:
        w.byte(f.t)
        w.varint(32 * f.ids.length)
        for (const id of f.ids) w.id(id)
        continue
      case T.NeedIn:
        w.byte(f.t)
        w.varint(varintSize(f.a) + varintSize(f.b - f.a) + 32 * f.ids.length)
        w.varint(f.a)
        w.varint(f.b - f.a)
        for (const id of f.ids) w.id(id)
        continue
      case T.Fp:
        body.reset()
        putRange(body, f.range, prev)
        body.varint(f.count)
        if (f.count > 0) body.bytes(f.hash)
        whole(f.t, body.done())
        continue
      case T.Ids: {
        // The range and count go through the scratch writer; the ids, whose size is known, straight into the message.
        body.reset()
        putRange(body, f.range, prev)
        body.varint(f.ids.count)
        const head = body.done()
        w.byte(f.t)
        w.varint(head.length + f.ids.bytes.length)
        w.bytes(head)
        w.bytes(f.ids.bytes)
        continue
      }
    }
  }
  return w.done()
}

function json(b: Uint8Array): Record<string, unknown> {
  try {
    const v = JSON.parse(dec.decode(b))
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object')
    return v
  } catch (e) {
    throw new WireError(`bad JSON frame: ${(e as Error).message}`)
  }
}

const count = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0

/**
 * A hello's known fields must have their documented types (unknown fields are ignored, for
 * newer peers): a peer's numbers and strings are used in arithmetic and messages, so a wrong
 * type is a malformed message, never a crash or a nonsense figure further on.
 */
function checkHello(h: Record<string, unknown>): Hello {
  const bad = (field: string, want: string) => new WireError(`hello field "${field}" must be ${want}, got ${h[field] === undefined ? 'nothing' : JSON.stringify(h[field]).slice(0, 80)}`)
  if (typeof h.proto !== 'string') throw bad('proto', 'a string')
  if (!Number.isSafeInteger(h.v)) throw bad('v', 'an integer')
  if (!Array.isArray(h.caps) || h.caps.length > 256 || !h.caps.every((c) => typeof c === 'string')) throw bad('caps', 'an array of strings')
  if (h.mode !== undefined && h.mode !== 'pull' && h.mode !== 'push' && h.mode !== 'sync') throw bad('mode', 'pull, push or sync')
  for (const f of ['max', 'records', 'handled', 'compared'] as const) if (h[f] !== undefined && !count(h[f])) throw bad(f, 'a non-negative integer')
  if (h.top !== undefined && !(Number.isSafeInteger(h.top) && (h.top as number) >= -1)) throw bad('top', 'an integer of at least -1')
  if (h.root !== undefined && !(typeof h.root === 'string' && /^[0-9a-f]{32}$/.test(h.root))) throw bad('root', 'a 32-digit hex fingerprint')
  if (h.more !== undefined && typeof h.more !== 'boolean') throw bad('more', 'a boolean')
  return h as unknown as Hello
}

function checkAck(a: Record<string, unknown>): Extract<Frame, {t: T.Ack}> {
  for (const f of ['added', 'present', 'rejected'] as const) if (!count(a[f])) throw new WireError(`ack field "${f}" must be a non-negative integer`)
  const errors = a.errors ?? []
  if (!Array.isArray(errors) || errors.length > 1000) throw new WireError('ack errors must be an array (of at most 1000)')
  const out: {id?: string; reason: string}[] = []
  for (const e of errors as unknown[]) {
    const o = e as {id?: unknown; reason?: unknown} | null
    if (typeof o !== 'object' || o === null || typeof o.reason !== 'string' || (o.id !== undefined && typeof o.id !== 'string')) throw new WireError('ack errors must be objects with a string reason (and an optional string id)')
    out.push({...(o.id === undefined ? {} : {id: o.id.slice(0, 64)}), reason: o.reason.slice(0, 2000)})
  }
  return {t: T.Ack, added: a.added as number, present: a.present as number, rejected: a.rejected as number, errors: out}
}

/**
 * Decode a message. With `onRecord`, RECORD frames are handed over as their bytes (views into
 * `msg`) instead of being decoded into strings and returned: a receiver that passes them on to
 * verification as bytes never builds a string per record, and a record that is not UTF-8 is then
 * refused by verification (its id cannot match) rather than failing the whole message.
 */
export function decode(msg: Uint8Array, onRecord?: (bytes: Uint8Array) => void): Frame[] {
  if (msg.length > MAX_MESSAGE) throw new WireError(`message of ${msg.length} bytes exceeds the bound of ${MAX_MESSAGE}`)
  const rd = new Reader(msg)
  const prev = {end: 0}
  const out: Frame[] = []
  while (rd.left > 0) {
    const t = rd.byte()
    const body = new Reader(rd.take(rd.varint()))
    switch (t) {
      case T.Hello: {
        out.push({t, hello: checkHello(json(body.take(body.left)))})
        break
      }
      case T.Error: {
        const e = json(body.take(body.left))
        if (typeof e.code !== 'string' || typeof e.message !== 'string') throw new WireError('error frame without a string code and message')
        out.push({t, code: e.code.slice(0, 64), message: e.message.slice(0, 2000)})
        break
      }
      case T.Fp: {
        const range = getRange(body, prev)
        const count = body.varint()
        out.push({t, range, count, hash: count > 0 ? body.take(FP_BYTES) : EMPTY})
        break
      }
      case T.Ids: {
        const range = getRange(body, prev)
        const n = body.varint()
        if (n * ID_BYTES > body.left) throw new WireError('truncated id list')
        // Copied out of the message (one copy for the whole list), so the list outlives it.
        out.push({t, range, ids: new IdList(Buffer.from(body.take(n * ID_BYTES)))})
        break
      }
      case T.Need:
      case T.Offer: {
        if (body.left % 32 !== 0) throw new WireError('id list not a multiple of 32 bytes')
        const ids: string[] = []
        while (body.left > 0) ids.push(body.hex(32))
        out.push({t, ids})
        break
      }
      case T.NeedIn: {
        const a = body.varint()
        const b = a + body.varint()
        if (b > MAX_BUCKET) throw new WireError('bad bucket span')
        if (body.left % 32 !== 0) throw new WireError('id list not a multiple of 32 bytes')
        const ids: string[] = []
        while (body.left > 0) ids.push(body.hex(32))
        out.push({t, a, b, ids})
        break
      }
      case T.Record: {
        if (onRecord) {
          onRecord(body.take(body.left))
          break
        }
        let line: string
        try {
          line = dec.decode(body.take(body.left))
        } catch {
          throw new WireError('record frame is not UTF-8')
        }
        out.push({t, line})
        break
      }
      case T.Ack: {
        out.push(checkAck(json(body.take(body.left))))
        break
      }
      default:
        throw new WireError(`unknown frame type 0x${t.toString(16)}`)
    }
    if (body.left !== 0 && t !== T.Hello) throw new WireError(`trailing bytes in frame 0x${t.toString(16)}`)
  }
  return out
}

const lineBytes = (line: string | Uint8Array) => (typeof line === 'string' ? Buffer.byteLength(line) : line.length)

/** A record line as text (a line given as bytes is decoded; decode() always gives text). */
export const lineText = (line: string | Uint8Array): string => (typeof line === 'string' ? line : dec.decode(line))

/** Bytes a frame takes on the wire, roughly (for budgets). */
export const recordFrameSize = (line: string | Uint8Array) => lineBytes(line) + 4
