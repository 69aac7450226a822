/** Verify a claims file sent as text against observations sent with it (POST /v1/verify): the engine `steme verify` runs, without a repo. */
import type {Baseline} from '../claims/baseline.js'
import {DEFAULT_SETTINGS, type ClaimsFile} from '../claims/file.js'
import type {Observation} from '../claims/observation.js'
import {unclaimed} from '../claims/verdict.js'
import {UserError} from '../core/errors.js'
import type {Json} from '../core/record.js'
import {checkLenses} from '../claims/lens-check.js'
import {judge, settle, type VerifyDeps, type VerifyResult} from './verify.js'

/** What a client sends: the claims file's text and what its extractors observed. */
export interface VerifyRequest {
  /** The claims file (TOML text). */
  claims: string
  /** Its name in messages (default `claims.toml`). */
  name?: string
  /** File observations; store observations come from the store this runs against. */
  observations: Observation[]
  failOnWarn?: boolean
  /** The content of a baseline file: failures it lists are known, not failing. */
  baseline?: Baseline
}

/** The report: the same JSON as `steme verify --json`, without what only a repo has (its root, skipped files, the cache). */
export type VerifyReport = Omit<VerifyResult, 'root' | 'claimsFrom' | 'observations' | 'baseline' | 'cache'> & {
  claimsFrom: 'request'
  baseline?: {fixed: string[]}
}

/**
 * What one request may hold, and the most a `matches` pattern may run on one value: the claims file
 * sets `regex_timeout_ms`, and the sender of a request must not be able to hold the daemon's verify
 * for as long as it likes.
 */
export const REQUEST_LIMITS = {claimsBytes: 4 * 1024 * 1024, observations: 100_000, subject: 512, predicate: 256, file: 4096, via: 256, regexTimeoutMs: DEFAULT_SETTINGS.regexTimeoutMs}

export async function verifyRequestOp(deps: VerifyDeps, req: VerifyRequest): Promise<VerifyReport> {
  const cf = await parseRequestClaims(req.claims, req.name ?? 'claims.toml')
  const {verdicts, store} = await judge(deps, '', cf, req.observations)
  const {summary, fixed} = settle(verdicts, {failOnWarn: req.failOnWarn, baseline: req.baseline})
  return {
    claimsFile: cf.path,
    claimsFrom: 'request',
    staged: false,
    verdicts,
    unclaimed: unclaimed(cf.claims, req.observations),
    warnings: [],
    skipped: [],
    ...(req.baseline ? {baseline: {fixed}} : {}),
    store,
    summary,
    ok: summary.failing === 0,
  }
}

/**
 * The claims a request sends, with its time budget for patterns capped. A broken claims text is the
 * client's mistake: `invalid_claims`, with the line and column where it is known.
 */
export async function parseRequestClaims(text: string, name: string, limits: {regexTimeoutMs: number} = REQUEST_LIMITS): Promise<ClaimsFile> {
  try {
    const {parseClaims} = await import('../claims/parse.js')
    const cf = parseClaims(text, name)
    await checkLenses(cf)
    cf.settings.regexTimeoutMs = Math.min(cf.settings.regexTimeoutMs, limits.regexTimeoutMs)
    return cf
  } catch (e) {
    if (!(e instanceof UserError)) throw e
    throw new UserError(e.message, {code: 'invalid_claims', hint: e.hint, at: e.at})
  }
}

/** Check an untrusted request body (parsed JSON) and shape it into a VerifyRequest; `record` is the caller's business. */
export function parseVerifyRequest(body: unknown): VerifyRequest & {record: boolean} {
  const bad = (msg: string): never => {
    throw new UserError(`verify request: ${msg}`, {hint: 'send {"claims": "<claims.toml text>", "observations": [{"subject", "predicate", "value", "file", "line"}], "failOnWarn", "baseline", "record"}'})
  }
  if (!isObject(body)) return bad('the body must be a JSON object')
  known(body, ['claims', 'name', 'observations', 'failOnWarn', 'baseline', 'record'], '', bad)
  if (typeof body.claims !== 'string') return bad('"claims" must be the claims file as a string (TOML text)')
  if (Buffer.byteLength(body.claims) > REQUEST_LIMITS.claimsBytes) bad(`"claims" is larger than ${REQUEST_LIMITS.claimsBytes} bytes`)
  const name = optString(body.name, 'name', 256, bad)
  for (const f of ['failOnWarn', 'record'] as const) if (body[f] !== undefined && typeof body[f] !== 'boolean') bad(`"${f}" must be true or false`)
  const raw = body.observations ?? []
  if (!Array.isArray(raw)) return bad('"observations" must be an array')
  if (raw.length > REQUEST_LIMITS.observations) bad(`more than ${REQUEST_LIMITS.observations} observations`)
  const observations = raw.map((o, i) => observation(o, `observations[${i}]`, bad))
  let baseline: Baseline | undefined
  if (body.baseline !== undefined) {
    const b = body.baseline
    if (!isObject(b) || b.version !== 1 || !isObject(b.claims)) bad('"baseline" must be a steme baseline (version 1 with a "claims" object)')
    baseline = b as unknown as Baseline
  }
  return {claims: body.claims, ...(name ? {name} : {}), observations, failOnWarn: body.failOnWarn === true, ...(baseline ? {baseline} : {}), record: body.record === true}
}

function observation(o: unknown, what: string, bad: (msg: string) => never): Observation {
  if (!isObject(o)) return bad(`${what} must be an object`)
  known(o, ['subject', 'predicate', 'value', 'file', 'line', 'via', 'files'], `${what}: `, bad)
  const subject = optString(o.subject, `${what}.subject`, REQUEST_LIMITS.subject, bad)
  const predicate = optString(o.predicate, `${what}.predicate`, REQUEST_LIMITS.predicate, bad)
  if (!subject || !predicate) return bad(`${what} needs a "subject" and a "predicate" (non-empty strings)`)
  if (!('value' in o)) bad(`${what} needs a "value"`)
  const out: Observation = {subject, predicate, value: o.value as Json, via: optString(o.via, `${what}.via`, REQUEST_LIMITS.via, bad) ?? 'request'}
  if (out.via === 'store') bad(`${what}: "via": "store" is reserved; store observations come from the daemon's own store`)
  const file = optString(o.file, `${what}.file`, REQUEST_LIMITS.file, bad)
  if (file) out.file = file
  if (o.line !== undefined) {
    if (!Number.isSafeInteger(o.line) || (o.line as number) < 1) bad(`${what}.line must be a positive integer`)
    out.line = o.line as number
  }
  if (o.files !== undefined) {
    if (!Array.isArray(o.files) || o.files.length > 10_000 || o.files.some((f) => typeof f !== 'string' || f.length > REQUEST_LIMITS.file)) bad(`${what}.files must be an array of file names`)
    out.files = o.files as string[]
  }
  return out
}

function optString(v: unknown, what: string, max: number, bad: (msg: string) => never): string | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'string' || v === '' || v.length > max) return bad(`${what} must be a non-empty string of at most ${max} characters`)
  return v
}

function known(o: Record<string, unknown>, keys: string[], prefix: string, bad: (msg: string) => never): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) bad(`${prefix}unknown field "${k}" (known: ${keys.join(', ')})`)
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
