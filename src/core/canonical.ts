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
