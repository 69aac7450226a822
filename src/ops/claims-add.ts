/** Add one claim to the claims file: appended as a `[[claim]]` block, so comments and layout stay as they were, once the file as it will be passes verify's checks. */
import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {stringify} from 'smol-toml'
import type {Claim} from '../claims/file.js'
import {checkLenses} from '../claims/lens-check.js'
import {parseClaims} from '../claims/parse.js'
import {defaultClaimsPath, repoRoot} from '../claims/load.js'
import type {Json} from '../core/record.js'
import {replaceFileSync} from '../output-file.js'

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
}

/** A value as typed on the command line: JSON when it parses (true, 1.3, ["a"]), else the plain string. */
export function parseExpect(text: string): Json {
  try {
    return JSON.parse(text) as Json
  } catch {
    return text
  }
}

export function claimBlock(input: Omit<ClaimsAddInput, 'cwd' | 'claims'>): string {
  const fields: [string, unknown][] = [
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
  for (const [k, v] of fields) if (v !== undefined && v !== null && v !== '') lines.push(stringify({[k]: v}).trim())
  return lines.join('\n') + '\n'
}

export async function claimsAddOp(input: ClaimsAddInput): Promise<ClaimsAddResult> {
  const path = resolve(input.claims ?? defaultClaimsPath(repoRoot(input.cwd)))
  const created = !existsSync(path)
  const old = created ? '' : readFileSync(path, 'utf8')
  const block = claimBlock(input)
  const text = old === '' ? block : old + (old.endsWith('\n\n') ? '' : old.endsWith('\n') ? '\n' : '\n\n') + block
  // Validate the whole file as it will be, with verify's checks (a duplicate id, a bad comparison, an unknown lens), before writing.
  const parsed = parseClaims(text, path)
  await checkLenses(parsed)
  const claim = parsed.claims.find((c) => c.id === input.id)!
  mkdirSync(dirname(path), {recursive: true})
  replaceFileSync(path, text)
  const {pattern: _p, ...plain} = claim
  return {path, created, block, claim: plain}
}
