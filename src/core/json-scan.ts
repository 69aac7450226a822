/** A look at JSON text typed by a user for what JSON.parse hides: keys given twice, and numbers it does not read back as typed. */
import type {Json} from './record.js'

const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y

/**
 * In valid JSON text: the first key an object has twice, the first number JSON cannot carry as
 * typed (an integer past 2^53, out of range: its value would change), and the first number whose
 * JSON form is another text of the same value (20.10 -> 20.1). One pass: a string is a key when a
 * colon follows it.
 */
export function scanJson(json: string): {key?: string; changed?: {typed: string; read?: string}; reformed?: {typed: string; read: string}} {
  const keys: Array<Set<string> | undefined> = []
  const out: {changed?: {typed: string; read?: string}; reformed?: {typed: string; read: string}} = {}
  for (let i = 0; i < json.length; ) {
    const c = json[i]
    if (c === '"') {
      let j = i + 1
      while (json[j] !== '"') j += json[j] === '\\' ? 2 : 1
      const token = json.slice(i, j + 1)
      i = j + 1
      const open = keys.at(-1)
      let k = i
      while (json[k] === ' ' || json[k] === '\n' || json[k] === '\r' || json[k] === '\t') k++
      if (open && json[k] === ':') {
        const key = JSON.parse(token) as string
        if (open.has(key)) return {key}
        open.add(key)
      }
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i
      const typed = NUMBER.exec(json)![0]
      i += typed.length
      const n = Number(typed)
      const read = JSON.stringify(n)
      if (read === typed) continue
      if (inexactNumber(typed, n)) out.changed ??= {typed, ...(Number.isFinite(n) ? {read} : {})}
      else out.reformed ??= {typed, read}
    } else {
      if (c === '{') keys.push(new Set())
      else if (c === '[') keys.push(undefined)
      else if (c === '}' || c === ']') keys.pop()
      i++
    }
  }
  return out
}

/**
 * Whether this text is a number that JSON (IEEE-754 doubles, RFC 8785) cannot carry as typed: an
 * integer beyond 2^53 (12345678901234567890 would become 12345678901234567000) or one out of range.
 */
export function inexactNumber(text: string, parsed: Json = jsonOrText(text)): boolean {
  if (typeof parsed !== 'number') return false
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
