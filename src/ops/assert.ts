/** Record one assertion signed by the local key. */
import {UserError} from '../core/errors.js'
import type {AssertionBody, Json, Signed} from '../core/record.js'
import {seal} from '../core/seal.js'
import type {Deps} from './deps.js'
import {findStored} from './ids.js'
import {sealOrExplain} from './sealing.js'

export interface AssertInput {
  subject: string
  predicate: string
  /** The value as typed: parsed as JSON when it is JSON, else kept as a string. */
  value: string | Json
  confidence?: number
  source?: string
  epoch?: string
  evidence?: string[]
  supersedes?: string[]
  validFrom?: string
  validTo?: string
}

export interface AssertResult {
  id: string
  record: AssertionBody & {id: string; sig: string}
  /** What the assertion does that its author may not mean (a supersession of another subject or agent). */
  warnings?: string[]
}

export function parseValue(text: string): Json {
  const v = jsonOrText(text)
  // A number a record cannot hold as typed stays the text itself: JSON.parse would round it.
  return inexactNumber(text, v) ? text : v
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
function jsonOrText(text: string): Json {
  try {
    return JSON.parse(text) as Json
  } catch {
    return text
  }
}

export async function assertOp(deps: Deps, input: AssertInput): Promise<AssertResult> {
  const key = deps.key()
  // Cited and replaced records by id or unique prefix (as `steme log` prints them), stored ones only.
  const evidence = await Promise.all((input.evidence ?? []).map(async (t) => (await findStored(deps, t, 'cite')).record))
  const supersedes = await Promise.all((input.supersedes ?? []).map(async (t) => (await findStored(deps, t, 'supersede')).record))
  const notAssertion = supersedes.find((r) => r.kind !== 'assertion')
  if (notAssertion) throw new UserError(`supersedes ${notAssertion.id}, which is a ${notAssertion.kind}, not an assertion`, {exit: 1, code: 'rejected'})
  const warnings: string[] = []
  for (const r of supersedes as Signed<AssertionBody>[]) {
    if (r.subject !== input.subject || r.predicate !== input.predicate) warnings.push(`supersedes ${r.id.slice(0, 12)}, an assertion about ${r.subject} ${r.predicate}: it drops out of the answers about that, not about ${input.subject} ${input.predicate}`)
    if (r.agent !== key.publicHex) warnings.push(`supersedes ${r.id.slice(0, 12)}, signed by another agent (${r.agent.slice(0, 12)}): honoured only where this key is the store's own or pre-trusted (docs/lenses.md)`)
  }
  const body: AssertionBody = {
    v: 1,
    kind: 'assertion',
    agent: key.publicHex,
    hlc: deps.clock.tick(),
    subject: input.subject,
    predicate: input.predicate,
    value: typeof input.value === 'string' ? parseValue(input.value) : input.value,
    confidence: input.confidence ?? 1,
  }
  if (input.source !== undefined) body.source = input.source
  if (input.epoch !== undefined) body.epoch = input.epoch
  if (evidence.length) body.evidence = evidence.map((r) => r.id)
  if (supersedes.length) body.supersedes = supersedes.map((r) => r.id)
  if (input.validFrom !== undefined || input.validTo !== undefined) {
    body.valid = {}
    if (input.validFrom !== undefined) body.valid.from = input.validFrom
    if (input.validTo !== undefined) body.valid.to = input.validTo
  }
  const sealed = sealOrExplain(() => seal(body, key), 'assert')
  await deps.store.insert([sealed])
  await deps.saveClock()
  const res: AssertResult = {id: sealed.record.id, record: sealed.record as AssertResult['record']}
  if (warnings.length) res.warnings = warnings
  return res
}
