/** Add one claim to the claims file: appended as a `[[claim]]` block, so comments and layout stay as they were, once the file as it will be passes verify's checks. */
import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {dirname, relative, resolve} from 'node:path'
import {stringify} from 'smol-toml'
import type {Claim, ClaimsFile} from '../claims/file.js'
import {checkLenses} from '../claims/lens-check.js'
import {parseClaims} from '../claims/parse.js'
import {defaultClaimsPath, repoRoot} from '../claims/load.js'
import {findGitRoot, ignoredBy} from '../claims/repo.js'
import {UserError} from '../core/errors.js'
import type {Json} from '../core/record.js'
import {replaceFileSync} from '../output-file.js'
import {scanJson} from '../core/json-scan.js'

export interface ClaimsAddInput {
  cwd: string
  claims?: string
  id: string
  subject: string
  predicate: string
  expect?: Json
  compare?: string
  severity?: string
  why?: string
  lens?: string
  from?: string
}

export interface ClaimsAddResult {
  path: string
  created: boolean
  block: string
  claim: Omit<Claim, 'pattern'>
  /** In a git work tree, the gitignore rule that keeps the file out of commits (the hook then checks a copy no commit holds). */
  ignored?: {rule: string; path: string}
}

/** --expect as parsed: the value, and a note when it is not what JSON would have made of the text. */
export interface ParsedExpect {
  value: Json
  note?: string
}

/**
 * A value as typed on the command line: JSON when it parses (true, 1.3, ["a"]), else the plain
 * string. A number JSON would change (20.10 is read as 20.1, 12345678901234567890 is rounded) is
 * kept as the text typed, with a note, as `steme assert` keeps inexact numbers: as text, "20.10"
 * still compares as a version, above "20.9". Inside an array or a table such a number is refused,
 * since the text around it cannot be kept as a string.
 */
export function parseExpect(text: string): ParsedExpect {
  let value: Json
  try {
    value = JSON.parse(text) as Json
  } catch {
    return {value: text}
  }
  if (typeof value === 'number') {
    const read = JSON.stringify(value)
    if (read === text.trim()) return {value}
    return {value: text, note: `--expect ${text} was kept as the text ${JSON.stringify(text)}: read as a JSON number it would be ${Number.isFinite(value) ? read : 'out of range'}`}
  }
  if (value !== null && typeof value === 'object') {
    const found = scanJson(text)
    if (found.key !== undefined) throw new UserError(`--expect: the key ${JSON.stringify(found.key)} appears twice in one object; JSON keeps only the last, silently`, {hint: 'write each key once'})
    const bad = found.changed ?? found.reformed
    if (bad) {
      const read = bad.read ?? 'out of range'
      throw new UserError(`--expect: the number ${bad.typed} in it would be read as ${read}`, {
        hint: `write it as a string ("${bad.typed}") to keep it as typed${bad.read ? `, or as ${bad.read}` : ''}`,
      })
    }
  }
  return {value}
}

/**
 * A value as TOML on one line, tables inline (`{ a = 1 }`) at any depth: a table written as a
 * `[expect]` section would end the `[[claim]]` it belongs to. smol-toml writes the scalars.
 */
function tomlValue(v: Json): string {
  if (v === null) {
    throw new UserError('--expect: TOML has no null, so a claim cannot expect one', {
      hint: 'to expect the text "null", pass --expect \'"null"\'; to claim that nothing is observed, use --compare absent',
    })
  }
  if (Array.isArray(v)) return v.length ? `[ ${v.map(tomlValue).join(', ')} ]` : '[]'
  if (typeof v === 'object') {
    const entries = Object.entries(v)
    return entries.length ? `{ ${entries.map(([k, x]) => `${/^[A-Za-z0-9_-]+$/.test(k) ? k : JSON.stringify(k)} = ${tomlValue(x)}`).join(', ')} }` : '{}'
  }
  return stringify({v}).trim().replace(/^v = /, '')
}

export function claimBlock(input: Omit<ClaimsAddInput, 'cwd' | 'claims'>): string {
  const fields: [string, Json | undefined][] = [
    ['id', input.id],
    ['subject', input.subject],
    ['predicate', input.predicate],
    ['expect', input.expect],
    ['compare', input.compare],
    ['severity', input.severity],
    ['why', input.why],
    ['lens', input.lens],
    ['from', input.from],
  ]
  const lines = ['[[claim]]']
  for (const [k, v] of fields) if (v !== undefined && (k === 'expect' || v !== '')) lines.push(`${k} = ${tomlValue(v)}`)
  return lines.join('\n') + '\n'
}

export async function claimsAddOp(input: ClaimsAddInput): Promise<ClaimsAddResult> {
  const path = resolve(input.claims ?? defaultClaimsPath(repoRoot(input.cwd)))
  const created = !existsSync(path)
  const old = created ? '' : readFileSync(path, 'utf8')
  // The file as it is gets verify's checks first: a problem there is at a line of the user's file.
  await checkLenses(parseClaims(old, path))
  // A file written with CRLF line ends (an editor on Windows) gets the block with them too, not a mix.
  const eol = old.includes('\r\n') ? '\r\n' : '\n'
  const block = claimBlock(input)
  const text = old === '' ? block : old + (old.endsWith(eol + eol) ? '' : old.endsWith(eol) ? eol : eol + eol) + block.replaceAll('\n', eol)
  // Then the whole file as it will be, with the same checks (a duplicate id, an unknown lens), before writing.
  let parsed: ClaimsFile
  try {
    parsed = parseClaims(text, path)
    await checkLenses(parsed)
  } catch (e) {
    throw refusal(e, input.id, path)
  }
  const claim = parsed.claims.find((c) => c.id === input.id)!
  mkdirSync(dirname(path), {recursive: true})
  replaceFileSync(path, text)
  const {pattern: _p, ...plain} = claim
  const root = findGitRoot(dirname(path))
  const rel = root ? relative(root, path).replaceAll('\\', '/') : undefined
  const rule = root && rel && !rel.startsWith('..') ? ignoredBy(root, rel) : undefined
  return {path, created, block, claim: plain, ...(rule ? {ignored: {rule, path: rel!}} : {})}
}

/**
 * A problem the new claim brings, as one about that claim: its line exists only in the text being
 * checked, so "claims.toml:41" would send the user to a line their file does not have.
 */
function refusal(e: unknown, id: string, path: string): unknown {
  if (!(e instanceof UserError)) return e
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const detail = e.message.replace(new RegExp(`^${esc(path)}:\\d+(?::\\d+)?: (?:claim(?: #\\d+)?(?: ${esc(JSON.stringify(id))})?: )?`), '')
  return new UserError(`cannot add claim ${JSON.stringify(id)} to ${path}: ${detail}`, {code: e.code, hint: e.hint, exit: e.exit, cause: e})
}
