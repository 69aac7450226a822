/** Text from records and from the command line that looks like something it is not: terminal controls, and Unicode forms. */

/**
 * Characters a terminal acts on instead of showing: C0 and C1 controls and DEL (escape sequences
 * that clear the screen or hide text, newlines and tabs that break a row), bidi embeddings,
 * overrides, isolates and marks (text that reads in another order than it is stored), line and
 * paragraph separators, and lone surrogates (printed as U+FFFD, hiding what the field holds).
 */
const UNSAFE = /[\0-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/u
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'gu')

const NAMED: Record<string, string> = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}

const escape = (c: string) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`

/**
 * A field from a record as human output prints it: every unsafe character written as JSON writes
 * it (`\n`, `\u001b`, `\u202e`), so a subject shows what it holds as a value does, and records from
 * ingest or sync cannot drive the terminal. --json output is JSON and needs none of this.
 */
export function visible(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_ALL, escape) : s
}

/** The first unsafe character in s and where it is (0-based), if any. */
export function firstUnsafe(s: string): {char: string; at: number} | undefined {
  const m = UNSAFE.exec(s)
  return m ? {char: escape(m[0]), at: m.index} : undefined
}

/**
 * The other Unicode normalization forms of s (NFC, NFD) that differ from it: "café" typed with
 * é as one character and as e plus a combining accent looks the same but is another subject.
 */
export function otherForms(s: string): Array<{form: 'NFC' | 'NFD'; text: string}> {
  const out: Array<{form: 'NFC' | 'NFD'; text: string}> = []
  for (const form of ['NFC', 'NFD'] as const) {
    const text = s.normalize(form)
    if (text !== s && !out.some((o) => o.text === text)) out.push({form, text})
  }
  return out
}
