/** Text from records and from the command line that looks like something it is not: terminal controls, and Unicode forms. */

/**
 * Characters a terminal acts on instead of showing: C0 and C1 controls and DEL (escape sequences
 * that clear the screen or hide text, newlines and tabs that break a row), bidi embeddings,
 * overrides, isolates and marks (text that reads in another order than it is stored), line and
 * paragraph separators, and lone surrogates (printed as U+FFFD, hiding what the field holds).
 */
const UNSAFE = /[\0-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/u
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'gu')
/** The unsafe characters and the backslash: what a bare field escapes. */
const FIELD = /[\\\0-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]/u
const FIELD_ALL = new RegExp(FIELD.source, 'gu')

const NAMED: Record<string, string> = {'\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\'}

const escape = (c: string) => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`

/**
 * Human output is written in one notation, JSON's: a backslash in it always starts an escape
 * (`\\`, `\n`, `\u001b`), so what is printed reads back as one text only, and records from
 * ingest or sync cannot drive the terminal. Text is made so where it is composed, each piece once:
 *
 * - a field printed bare (a subject, a source, a retraction reason, a file path) goes through
 *   field(), which writes each backslash as `\\` and each unsafe character as its escape;
 * - a value printed quoted is JSON.stringify's text, which escapes both already;
 * - the composed line goes through visible() on its way out, which escapes what JSON.stringify
 *   leaves alone (DEL, C1, bidi controls) and never adds a backslash, so text made of fields and
 *   JSON passes through it unchanged and a quoted value is not escaped twice.
 *
 * The data fields of --json output are the text unchanged. A sentence (an explanation, a verify
 * message, an error) is composed once, with its fields through field(), and --json carries it so.
 */
export function field(s: string): string {
  return FIELD.test(s) ? s.replace(FIELD_ALL, escape) : s
}

/**
 * A composed line as human output prints it: every unsafe character written as JSON writes it
 * (`\n`, `\u001b`, `\u202e`). Backslashes are left as they are: they are escapes made by field()
 * or JSON.stringify. A field put into a line bare must go through field() first (see there).
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

/** A decimal number in [0, 1] as typed (0.9, 1, .5, 1e-1), or undefined: Number() would also take 0x1, 0b1 and " ". */
export function unitNumber(text: string): number | undefined {
  if (!/^\s*(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(text)) return undefined
  const n = Number(text)
  return n >= 0 && n <= 1 ? n : undefined
}
