/** The verify engine's core: a claim plus its observations in, a verdict (PASS, CONFLICT, MISSING, UNCHECKED) out. */
import type {Json} from '../core/record.js'
import {field} from '../core/text.js'
import {check, matchText, showValue} from './compare.js'
import type {Claim, Comparison, Severity} from './file.js'
import {key, where, type Observation} from './observation.js'
import type {PatternTests} from './pattern-tests.js'

export type Status = 'PASS' | 'CONFLICT' | 'MISSING' | 'UNCHECKED'

/** Why a claim could not be checked: a regex that bears on it was stopped before it was done. */
export interface Unchecked {
  /** What was stopped: `extract#2` (an extractor feeding the claim) or `expect` (the claim's `matches` pattern). */
  by: string
  /** Where it was stopped. */
  file?: string
  cause: 'timeout' | 'error' | 'too_large'
  /** What was stopped where, and what to do about it, for the message. */
  detail: string
}

export interface Failure {
  value: Json
  where: string
  file?: string
  line?: number
  reason: string
}

export interface Verdict {
  id: string
  subject: string
  predicate: string
  compare: Comparison
  expect?: Json
  severity: Severity
  why?: string
  /** Line of the claim in the claims file. */
  line: number
  status: Status
  /** Where the observations came from. */
  source: 'files' | 'store' | 'none'
  observed: Observation[]
  failures: Failure[]
  /** One sentence for the table and CI annotations. */
  message: string
  /** Why the claim could not be checked (status UNCHECKED). */
  unchecked?: Unchecked
  /** With a baseline: a failure already accepted there (known) or one that is not (new). */
  baseline?: 'known' | 'new'
  /** Does this verdict make verify exit 1? */
  fails: boolean
}

/** What the store said about a claim's subject and predicate, through the claim's lens. */
export interface StoreAnswer {
  observation?: Observation
  /** Candidate values when the lens declined to pick one. */
  contested?: Json[]
  note?: string
}

/** What else a verdict depends on besides the claim and its observations. */
export interface DecideContext {
  store?: StoreAnswer
  /** An extractor feeding the claim was stopped: observations it would have made are unknown. */
  stopped?: Unchecked
  /** The claim's `matches` pattern tested under the time budget (else it is tested here). */
  tests?: PatternTests
}

export function decide(claim: Claim, observed: Observation[], source: Verdict['source'], ctx: DecideContext = {}): Verdict {
  const v = compareAll(claim, observed, source, ctx.store, ctx.tests)
  const why = ctx.stopped ?? ctx.tests?.stopped
  return why && !certain(claim, v) ? unchecked(v, why) : v
}

/**
 * Is the verdict right whatever the unknown observations are? A failure found stays a failure,
 * and `present` seen once stays seen; any other verdict (PASS, an absent claim's "nothing seen",
 * MISSING) could be wrong.
 */
const certain = (claim: Claim, v: Verdict) => v.failures.length > 0 || (claim.compare === 'present' && v.observed.length > 0)

/** Fail closed: a claim that some observation may be missing from is not passed, nor called MISSING, but said to be unchecked, and why. */
function unchecked(v: Verdict, why: Unchecked): Verdict {
  v.status = 'UNCHECKED'
  v.unchecked = why
  v.message = `${field(v.subject)} ${field(v.predicate)}: could not be checked: ${why.detail}`
  return v
}

/** The verdict on the observations at hand (those a pattern stopped before testing are left out). */
function compareAll(claim: Claim, observed: Observation[], source: Verdict['source'], store?: StoreAnswer, tests?: PatternTests): Verdict {
  const v: Verdict = {
    id: claim.id,
    subject: claim.subject,
    predicate: claim.predicate,
    compare: claim.compare,
    severity: claim.severity,
    line: claim.line,
    status: 'PASS',
    source,
    observed,
    failures: [],
    message: '',
    fails: false,
  }
  if (claim.expect !== undefined) v.expect = claim.expect
  if (claim.why !== undefined) v.why = claim.why
  // The sentence for the table and CI: the claim's names and the places bare, through field(); values as JSON.
  const what = `${field(claim.subject)} ${field(claim.predicate)}`
  if (store?.contested && observed.length === 0) {
    v.status = 'CONFLICT'
    v.message = `${what}: the store is contested under lens ${claim.lens ?? 'recency'} (values ${store.contested.map((x) => showValue(x)).join(', ')}), no winner to check`
    return v
  }
  if (observed.length === 0) {
    if (claim.compare === 'absent') {
      v.message = `${what}: absent, as claimed`
      return v
    }
    v.status = 'MISSING'
    v.message = `${what}: no observation${store?.note ? ` (${store.note})` : ''}`
    return v
  }
  for (const o of observed) {
    const matched = tests?.matched.get(matchText(o.value))
    if (tests && matched === undefined) continue
    const c = check(claim, o.value, matched)
    if (!c.ok) v.failures.push({value: o.value, where: where(o), file: o.file, line: o.line, reason: c.reason!})
  }
  if (v.failures.length) {
    v.status = 'CONFLICT'
    const f = v.failures[0]
    v.message = `${what}: ${f.reason} at ${field(f.where)}${v.failures.length > 1 ? ` (and ${v.failures.length - 1} more)` : ''}`
  } else {
    v.message = `${what}: ${claim.compare === 'present' ? 'present' : `${showValue(observed[0].value)}`} at ${field(where(observed[0]))}${observed.length > 1 ? ` (and ${observed.length - 1} more)` : ''}`
  }
  return v
}

/** Observations under the claimed subjects that no claim covers. */
export function unclaimed(claims: readonly Claim[], observations: readonly Observation[]): Observation[] {
  const subjects = new Set(claims.map((c) => c.subject))
  const covered = new Set(claims.map((c) => key(c.subject, c.predicate)))
  return observations.filter((o) => subjects.has(o.subject) && !covered.has(key(o.subject, o.predicate)))
}

/** Group observations by (subject, predicate). */
export function indexObservations(observations: readonly Observation[]): Map<string, Observation[]> {
  const m = new Map<string, Observation[]>()
  for (const o of observations) {
    const k = key(o.subject, o.predicate)
    let list = m.get(k)
    if (!list) m.set(k, (list = []))
    list.push(o)
  }
  return m
}
