/** The claims file `.steme/claims.toml`: parsing, validation with precise messages, and the shapes it holds. */
import {oneLine, UserError} from '../core/errors.js'
import type {Json} from '../core/record.js'
import {parsePath, type PathSegment} from './path.js'

export const CLAIMS_FILE = 'claims.toml'
export const COMPARISONS = ['eq', 'gte', 'lte', 'in', 'matches', 'present', 'absent'] as const
export type Comparison = (typeof COMPARISONS)[number]
export const SEVERITIES = ['error', 'warn'] as const
export type Severity = (typeof SEVERITIES)[number]
/** Where a claim's observations may come from: files first then the store (any), only files, only the store. */
export const SOURCES = ['any', 'files', 'store'] as const
export type ObservationSource = (typeof SOURCES)[number]

export interface Claim {
  id: string
  subject: string
  predicate: string
  expect?: Json
  compare: Comparison
  severity: Severity
  why?: string
  lens?: string
  from: ObservationSource
  /** 1-based line of the `[[claim]]` header in the claims file. */
  line: number
  /** Compiled `matches` pattern. */
  pattern?: RegExp
}

export type ExtractKind = 'json' | 'yaml' | 'toml' | 'regex'

export interface Extract {
  /** Index among the file's `[[extract]]` entries, for messages. */
  index: number
  files: string[]
  kind: ExtractKind
  /** The dotted path (json/yaml/toml) or the regex source. */
  expr: string
  path?: PathSegment[]
  regex?: RegExp
  count: boolean
  subject: string
  predicate: string
  line: number
}

export interface Settings {
  /** Files larger than this are skipped with a warning (bounded reads). */
  maxFileBytes: number
  /** A regex extractor running longer than this on one file is stopped (it observes nothing in that run). */
  regexTimeoutMs: number
  /** Built-in extractors on (default) or off. */
  builtins: boolean
}

export interface ClaimsFile {
  path: string
  claims: Claim[]
  extracts: Extract[]
  settings: Settings
  text: string
}

export const DEFAULT_SETTINGS: Settings = {maxFileBytes: 1024 * 1024, regexTimeoutMs: 5000, builtins: true}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/

/**
 * Validate a parsed claims file (the TOML document as plain data); every problem is a UserError
 * (exit 2) naming the file, line and field. Parsing the TOML text is parse.ts's job, so that a
 * verify run whose parsed claims are cached never loads the TOML library.
 */
export function validateClaims(raw: Record<string, unknown>, text: string, path: string): ClaimsFile {
  const headers = headerLines(text)
  const lines = text.split('\n')
  const fail = (what: string, line: number, msg: string, hint?: string): never => {
    throw new UserError(`${path}:${line}: ${oneLine(what)}: ${oneLine(msg)}`, {code: 'config', hint: hint ?? 'see docs/claims.md for the claims file format', at: {line}})
  }
  for (const key of Object.keys(raw)) {
    if (!['claim', 'extract', 'settings'].includes(key)) fail(q(key), keyLine(text, key), 'unknown top-level key or table', 'the file holds [[claim]], [[extract]] and [settings]')
  }
  const claimsRaw = asTableArray(raw.claim, 'claim', text, fail)
  const extractsRaw = asTableArray(raw.extract, 'extract', text, fail)

  const seen = new Map<string, number>()
  const claims: Claim[] = claimsRaw.map((c, i) => {
    const line = headers.claim[i] ?? 1
    const what = `claim #${i + 1}${typeof c.id === 'string' ? ` ${q(c.id)}` : ''}`
    // A problem with a field written in the table is reported at that field's line.
    const at = (field?: string) => (field === undefined ? line : fieldLine(lines, line, field))
    knownKeys(c, ['id', 'subject', 'predicate', 'expect', 'compare', 'severity', 'why', 'lens', 'from'], (k) => fail(what, at(k), `unknown field ${q(k)}`))
    const bad = (msg: string, field?: string) => fail(what, at(field), msg)
    const id = str(c.id, 'id', 'needs an "id" (a stable name; baselines and reports key on it)', bad)
    if (!ID_RE.test(id)) fail(what, at('id'), `id ${q(id)} must be 1-128 letters, digits and . _ : / -, starting with a letter or digit`)
    if (seen.has(id)) fail(what, at('id'), `duplicate id (first used at line ${seen.get(id)})`)
    seen.set(id, line)
    const subject = str(c.subject, 'subject', 'needs a "subject" string', bad)
    const predicate = str(c.predicate, 'predicate', 'needs a "predicate" string', bad)
    const compare = (c.compare ?? 'eq') as Comparison
    if (!COMPARISONS.includes(compare)) fail(what, at('compare'), `unknown comparison ${qv(c.compare)}`, `use one of: ${COMPARISONS.join(', ')}`)
    const severity = (c.severity ?? 'error') as Severity
    if (!SEVERITIES.includes(severity)) fail(what, at('severity'), `unknown severity ${qv(c.severity)}`, 'use "error" or "warn"')
    const from = (c.from ?? 'any') as ObservationSource
    if (!SOURCES.includes(from)) fail(what, at('from'), `unknown from ${qv(c.from)}`, `use one of: ${SOURCES.join(', ')}`)
    const expect = c.expect === undefined ? undefined : toJson(c.expect)
    if (expect !== undefined && nonFinite(expect)) fail(what, at('expect'), '"expect" holds nan or inf, which nothing can be compared with', 'use a finite number')
    if (expect === undefined && compare !== 'present' && compare !== 'absent') fail(what, at('compare'), `compare = "${compare}" needs an "expect" value`)
    // present and absent look only at whether observations exist: an expect there is a comparison the user meant and does not get.
    if (expect !== undefined && (compare === 'present' || compare === 'absent')) fail(what, at('expect'), `expect is not used with ${compare}: remove it, or use another comparison`)
    if (compare === 'in' && !Array.isArray(expect)) fail(what, at('expect'), 'compare = "in" needs "expect" to be an array of allowed values')
    let pattern: RegExp | undefined
    if (compare === 'matches') {
      if (typeof expect !== 'string') fail(what, at('expect'), 'compare = "matches" needs "expect" to be a regular expression string')
      pattern = compileRegex(expect as string, '', (m) => fail(what, at('expect'), `invalid regular expression in "expect": ${m}`))
    }
    if (c.why !== undefined && typeof c.why !== 'string') fail(what, at('why'), `"why" must be a string, got ${typeName(c.why)}`)
    if (c.lens !== undefined && typeof c.lens !== 'string') fail(what, at('lens'), `"lens" must be a string (a lens name), got ${typeName(c.lens)}`)
    if (c.lens === '') fail(what, at('lens'), '"lens" must be a lens name')
    const claim: Claim = {id, subject, predicate, compare, severity, from, line}
    if (expect !== undefined) claim.expect = expect
    if (c.why !== undefined) claim.why = c.why as string
    if (c.lens !== undefined) claim.lens = c.lens as string
    if (pattern) claim.pattern = pattern
    return claim
  })

  const extracts: Extract[] = extractsRaw.map((x, i) => {
    const line = headers.extract[i] ?? 1
    const what = `extract #${i + 1}`
    const at = (field?: string) => (field === undefined ? line : fieldLine(lines, line, field))
    knownKeys(x, ['files', 'json', 'yaml', 'toml', 'regex', 'flags', 'count', 'subject', 'predicate'], (k) => fail(what, at(k), `unknown field ${q(k)}`))
    const bad = (msg: string, field?: string) => fail(what, at(field), msg)
    if (x.files === undefined) fail(what, line, 'needs "files": a glob or an array of globs, relative to the repo root')
    const wrongFile = Array.isArray(x.files) ? x.files.find((f) => typeof f !== 'string') : undefined
    const files =
      typeof x.files === 'string'
        ? [x.files]
        : Array.isArray(x.files) && wrongFile === undefined
          ? (x.files as string[])
          : fail(what, at('files'), `"files" must be a glob or an array of globs, got ${Array.isArray(x.files) ? `an array holding ${typeName(wrongFile)}` : typeName(x.files)}`)
    if (files.length === 0) fail(what, at('files'), '"files" is empty')
    for (const f of files) {
      const bad = checkGlob(f)
      if (bad) fail(what, at('files'), `files ${q(f)} ${bad}`, 'globs are relative to the repo root and stay inside it')
    }
    const kinds = (['json', 'yaml', 'toml', 'regex'] as const).filter((k) => x[k] !== undefined)
    if (kinds.length !== 1) fail(what, at(kinds[1]), kinds.length ? `has ${kinds.join(' and ')}: give exactly one` : 'needs one of json, yaml, toml (a dotted path) or regex')
    const kind = kinds[0]
    const expr = str(x[kind], kind, `"${kind}" is empty`, bad)
    const subject = str(x.subject, 'subject', 'needs a "subject" string', bad)
    const predicate = str(x.predicate, 'predicate', 'needs a "predicate" string', bad)
    if (x.count !== undefined && typeof x.count !== 'boolean') fail(what, at('count'), '"count" must be true or false')
    const count = x.count === true
    if (count && kind !== 'regex') fail(what, at('count'), '"count" only applies to regex extractors')
    if (x.flags !== undefined && (kind !== 'regex' || typeof x.flags !== 'string')) fail(what, at('flags'), '"flags" is a string and only applies to regex extractors')
    const ex: Extract = {index: i, files, kind, expr, count, subject, predicate, line}
    if (kind === 'regex') {
      const flags = String(x.flags ?? '')
      if (!/^[imsu]*$/.test(flags)) fail(what, at('flags'), `flags ${q(flags)} may only contain i, m, s, u`)
      ex.regex = compileRegex(expr, 'g' + (flags.includes('m') ? flags : flags + 'm'), (m) => fail(what, at('regex'), `invalid regular expression: ${m}`))
      const groups = count ? 1 : captureGroups(ex.regex)
      if (groups < 1) fail(what, at('regex'), 'the regex needs one capture group (the observed value), or set count = true to observe the number of matches')
      // Only the first group would be observed: the others are almost always meant as (?:...).
      if (groups > 1) fail(what, at('regex'), `the regex has ${groups} capture groups: it needs exactly one capture group (use (?:...) for the others)`)
    } else {
      try {
        ex.path = parsePath(expr)
      } catch (e) {
        fail(what, at(kind), `invalid ${kind} path ${q(expr)}: ${(e as Error).message}`)
      }
    }
    return ex
  })

  const s = (raw.settings ?? {}) as Record<string, unknown>
  const settings: Settings = {...DEFAULT_SETTINGS}
  if (raw.settings !== undefined) {
    const line = headers.settings ?? 1
    if (typeof raw.settings !== 'object' || Array.isArray(raw.settings)) fail('[settings]', line, 'must be a table')
    knownKeys(s, ['max_file_bytes', 'regex_timeout_ms', 'builtins'], (k) => fail('[settings]', fieldLine(lines, line, k), `unknown field ${q(k)}`))
    // A table (max_file_bytes.x = 1) has no prototype, so Number() would throw on it; a string is refused too.
    const positive = (name: string, v: unknown) => {
      const n = typeof v === 'number' || typeof v === 'bigint' ? Number(v) : NaN
      if (!Number.isInteger(n) || n < 1) fail('[settings]', fieldLine(lines, line, name), `${name} must be a positive integer`)
      return n
    }
    if (s.max_file_bytes !== undefined) settings.maxFileBytes = positive('max_file_bytes', s.max_file_bytes)
    if (s.regex_timeout_ms !== undefined) settings.regexTimeoutMs = positive('regex_timeout_ms', s.regex_timeout_ms)
    if (s.builtins !== undefined) {
      if (typeof s.builtins !== 'boolean') fail('[settings]', fieldLine(lines, line, 'builtins'), 'builtins must be true or false')
      settings.builtins = s.builtins as boolean
    }
  }
  return {path, claims, extracts, settings, text}
}

/** Why a glob may not be used, or undefined when it is fine. */
export function checkGlob(glob: string): string | undefined {
  if (glob === '') return 'is empty'
  if (glob.startsWith('/') || /^[A-Za-z]:[\\/]/.test(glob)) return 'is absolute'
  if (glob.split(/[\\/]/).includes('..')) return 'escapes the repo with ".."'
  return undefined
}

function compileRegex(src: string, flags: string, onError: (msg: string) => never): RegExp {
  try {
    return new RegExp(src, flags)
  } catch (e) {
    return onError((e as Error).message.replace(/^Invalid regular expression: /, ''))
  }
}

/** Number of capture groups in a regex (by matching the empty alternative). */
function captureGroups(re: RegExp): number {
  return new RegExp(`${re.source}|`, re.flags.replace('g', '')).exec('')!.length - 1
}

function asTableArray(v: unknown, name: string, text: string, fail: (what: string, line: number, msg: string) => never): Record<string, unknown>[] {
  if (v === undefined) return []
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'object' || x === null || Array.isArray(x))) fail(`"${name}"`, keyLine(text, name), `must be an array of tables, written [[${name}]]`)
  return v as Record<string, unknown>[]
}

/** User text quoted for a one-line message: a key or value holding a newline or control character stays on its line. */
const q = (s: string): string => JSON.stringify(s)
/**
 * Any TOML value quoted for a message, as JSON. String() is not safe here: TOML tables have no
 * prototype (String() throws on them) and integers can be bigints (JSON.stringify throws).
 */
function qv(v: unknown): string {
  if (typeof v === 'string') return q(v)
  try {
    return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? String(v)
  } catch {
    return Object.prototype.toString.call(v)
  }
}

/** 1-based line where a top-level key is first written (as `key =`, `key.x =`, `[key]` or `[[key]]`), else 1. */
function keyLine(text: string, key: string): number {
  const k = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const re = new RegExp(`^\\s*(?:\\[+\\s*)?(?:${k}|"${k}"|'${k}')\\s*[=.\\]]`)
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) if (re.test(lines[i])) return i + 1
  return 1
}

/**
 * 1-based line where `field` is written in the table whose header is at `header` (up to the next
 * table header), so an editor jumps to the value at fault; the header's line when it is not
 * written there (a missing field).
 */
function fieldLine(lines: readonly string[], header: number, field: string): number {
  const k = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const re = new RegExp(`^\\s*(?:${k}|"${k}"|'${k}')\\s*[=.]`)
  for (let i = header; i < lines.length && !/^\s*\[/.test(lines[i]); i++) if (re.test(lines[i])) return i + 1
  return header
}

/** NaN and the infinities have no JSON form: a claim could never be compared with them. */
function nonFinite(v: Json): boolean {
  if (typeof v === 'number') return !Number.isFinite(v)
  if (Array.isArray(v)) return v.some(nonFinite)
  if (v && typeof v === 'object') return Object.values(v).some(nonFinite)
  return false
}

function knownKeys(obj: Record<string, unknown>, known: string[], onUnknown: (k: string) => void): void {
  for (const k of Object.keys(obj)) if (!known.includes(k)) onUnknown(k)
}

/** A string field: a missing (or empty) one and one of another type are told apart. */
function str(v: unknown, field: string, missing: string, fail: (msg: string, field?: string) => never): string {
  if (v === undefined || v === '') return fail(missing, v === '' ? field : undefined)
  if (typeof v !== 'string') return fail(`"${field}" must be a string, got ${typeName(v)}`, field)
  return v
}

/** The TOML type of a parsed value, for messages ("got an integer"). */
function typeName(v: unknown): string {
  if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) return 'an integer'
  if (typeof v === 'number') return 'a float'
  if (typeof v === 'boolean') return 'a boolean'
  if (typeof v === 'string') return 'a string'
  if (Array.isArray(v)) return 'an array'
  if (v && typeof v === 'object') return typeof (v as {toISOString?: unknown}).toISOString === 'function' ? 'a date or time' : 'a table'
  return typeof v
}

/** TOML values as JSON: dates become ISO strings, everything else maps directly. */
export function toJson(v: unknown): Json {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return Number(v)
  if (v instanceof Date) return v.toISOString()
  if (Array.isArray(v)) return v.map(toJson)
  if (typeof v === 'object') {
    const o = v as {toISOString?: () => string}
    if (typeof o.toISOString === 'function') return o.toISOString()
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]))
  }
  return String(v)
}

/** 1-based lines of each `[[claim]]`, `[[extract]]` header and the `[settings]` table, in order. */
function headerLines(text: string): {claim: number[]; extract: number[]; settings?: number} {
  const out: {claim: number[]; extract: number[]; settings?: number} = {claim: [], extract: []}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*\[\[\s*(claim|extract)\s*\]\]/.exec(lines[i])
    if (m) out[m[1] as 'claim' | 'extract'].push(i + 1)
    else if (/^\s*\[\s*settings\s*\]/.test(lines[i])) out.settings = i + 1
  }
  return out
}
