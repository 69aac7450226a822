/** RFC 8785 JSON Canonicalization Scheme (JCS): one content, one byte sequence. */
import {RecordError} from './errors.js'

/**
 * Canonical JSON text of a value. Object keys are sorted by UTF-16 code units (JS default
 * string order), numbers use ECMAScript's shortest round-trip form (what JSON.stringify
 * emits), strings use JSON.stringify's escaping, which RFC 8785 §3.2.2.2 adopts verbatim.
 */
export function canonicalize(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new RecordError('value', `number ${value} has no JSON form`)
      return Object.is(value, -0) ? '0' : JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'object': {
      if (value === null) return 'null'
      if (Array.isArray(value)) {
        let out = '['
        for (let i = 0; i < value.length; i++) {
          if (i) out += ','
          out += canonicalize(value[i])
        }
        return out + ']'
      }
      const obj = value as Record<string, unknown>
      const keys = Object.keys(obj).sort()
      let out = '{'
      let first = true
      for (const k of keys) {
        const v = obj[k]
        if (v === undefined) continue
        if (!first) out += ','
        first = false
        out += JSON.stringify(k) + ':' + canonicalize(v)
      }
      return out + '}'
    }
    default:
      throw new RecordError('value', `${typeof value} is not a JSON value`)
  }
}

/**
 * Whether JSON.stringify already gives the canonical text of a value parsed from JSON: every
 * object's keys in canonical order (JSON.parse keeps the order of the text; integer-like keys,
 * which JS puts first, only pass when that is also their code-unit order), and only finite
 * numbers, strings, booleans and null as leaves. Records that arrive canonical (exports, sync)
 * then cost one native stringify instead of a rebuild.
 */
export function isCanonicalOrder(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true
    case 'number':
      return Number.isFinite(value)
    case 'object': {
      if (value === null) return true
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!isCanonicalOrder(value[i])) return false
        return true
      }
      return keysInOrder(value as Record<string, unknown>, 0)
    }
    default:
      return false
  }
}

/** Whether the keys of `obj`, but for its last `skipLast`, are in canonical order with canonical-order values. */
export function keysInOrder(obj: Record<string, unknown>, skipLast: number): boolean {
  const keys = Object.keys(obj)
  const end = keys.length - skipLast
  for (let i = 0; i < end; i++) {
    if (i > 0 && !(keys[i - 1] < keys[i])) return false
    if (!isCanonicalOrder(obj[keys[i]])) return false
  }
  return true
}
