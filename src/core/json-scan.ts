/** A look at JSON text typed by a user for what JSON.parse hides: keys given twice, and numbers it does not read back as typed. */
import type {Json} from './record.js'

/**
 * In valid JSON text: the first key an object has twice, the first number JSON cannot carry as
 * typed (an integer past 2^53, out of range: its value would change), and the first number whose
 * JSON form is another text of the same value (20.10 -> 20.1). One pass: a string is a key when a
 * colon follows it.
 */
export function scanJson(json: string): {key?: string; changed?: {typed: string; read?: string}; reformed?: {typed: string; read: string}} {
  // Every plain fact ingested passes through here: char codes and native searches, not one-character strings and regexes.
  const keys: Array<Set<string> | undefined> = []
  const out: {changed?: {typed: string; read?: string}; reformed?: {typed: string; read: string}} = {}
  const n = json.length
  for (let i = 0; i < n; ) {
    const c = json.charCodeAt(i)
    if (c === 0x22) {
      // The closing quote: the first one after an even run of backslashes.
      let q = json.indexOf('"', i + 1)
      for (;;) {
        if (q < 0) return out // not closed: no valid JSON (callers parse first), and nothing more to look at
        let b = q - 1
        while (json.charCodeAt(b) === 0x5c) b--
        if ((q - 1 - b) % 2 === 0) break
        q = json.indexOf('"', q + 1)
      }
      const open = keys.at(-1)
      const from = i
      i = q + 1
      if (open === undefined) continue
      let k = i
      for (let w = json.charCodeAt(k); w === 0x20 || w === 0x0a || w === 0x0d || w === 0x09; w = json.charCodeAt(++k));
      if (json.charCodeAt(k) !== 0x3a) continue
      const token = json.slice(from, q + 1)
      // Decoded only when it holds an escape ("\u0061" is "a").
      const key = token.includes('\\') ? (JSON.parse(token) as string) : token.slice(1, -1)
      if (open.has(key)) return {key}
      open.add(key)
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let k = i + 1
      let plain = true // digits and at most one point (after a sign)
      let point = -1
      for (let d = json.charCodeAt(k); (d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d; d = json.charCodeAt(++k)) {
        if (d === 0x2e) point = k
        else if (d < 0x30 || d > 0x39) plain = false
      }
      const typed = json.slice(i, k)
      const at = i
      i = k
      // Up to 15 digits, a decimal is the shortest text of its double, so JSON writes it as typed:
      // an integer (JSON has no leading zeros; -0 aside), or a fraction with no trailing zero and,
      // below 1, at most 5 zeros after the point (JSON writes 1e-7 for 0.0000001).
      if (plain && typed.length <= 16 && typed !== '-0') {
        if (point < 0) {
          if (typed.length <= 15) continue
        } else if (json.charCodeAt(k - 1) !== 0x30) {
          const int = json.charCodeAt(at) === 0x2d ? at + 1 : at
          let z = point + 1
          if (point - int === 1 && json.charCodeAt(int) === 0x30) while (json.charCodeAt(z) === 0x30) z++
          if (z - point - 1 <= 5) continue
        }
      }
      const v = Number(typed)
      const read = JSON.stringify(v)
      if (read === typed) continue
      if (inexactNumber(typed, v)) out.changed ??= {typed, ...(Number.isFinite(v) ? {read} : {})}
      else out.reformed ??= {typed, read}
    } else {
      if (c === 0x7b) keys.push(new Set())
      else if (c === 0x5b) keys.push(undefined)
      else if (c === 0x7d || c === 0x5d) keys.pop()
      i++
    }
  }
  return out
}

/**
 * Whether this text is a number that JSON (IEEE-754 doubles, RFC 8785) cannot carry as typed: an
 * integer beyond 2^53 (12345678901234567890 would become 12345678901234567000), one out of range,
 * or one too small to be told from zero (1e-400 would become 0: a measured value is not nothing).
 */
export function inexactNumber(text: string, parsed: Json = jsonOrText(text)): boolean {
  if (typeof parsed !== 'number') return false
  if (parsed === 0) return /^\s*-?[\d.]*[1-9]/.test(text)
  return !Number.isFinite(parsed) || (/^\s*-?\d+\s*$/.test(text) && !Number.isSafeInteger(parsed))
}

/** The text as JSON when it is JSON, else the text itself. */
export function jsonOrText(text: string): Json {
  try {
    return JSON.parse(text) as Json
  } catch {
    return text
  }
}
