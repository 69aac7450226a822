/** Record one assertion signed by the local key. */
import {UserError} from '../core/errors.js'
import type {AssertionBody, Json} from '../core/record.js'
import {seal} from '../core/seal.js'
import type {Deps} from './deps.js'
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
}

export function parseValue(text: string): Json {
  let v: Json
  try {
    v = JSON.parse(text) as Json
  } catch {
    return text
  }
  // A number a record cannot hold as typed stays the text itself: JSON.parse would round it.
  return inexactNumber(text, v) ? text : v
}

/**
 * Whether this text is a number that JSON (IEEE-754 doubles, RFC 8785) cannot carry as typed: an
 * integer beyond 2^53 (12345678901234567890 would become 12345678901234567000) or one out of range.
 */
export function inexactNumber(text: string, parsed: Json = safeParse(text)): boolean {
  if (typeof parsed !== 'number') return false
  return !Number.isFinite(parsed) || (/^\s*-?\d+\s*$/.test(text) && !Number.isSafeInteger(parsed))
}

function safeParse(text: string): Json {
  try {
    return JSON.parse(text) as Json
  } catch {
    return text
  }
}

export async function assertOp(deps: Deps, input: AssertInput): Promise<AssertResult> {
  const key = deps.key()
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
  if (input.evidence?.length) body.evidence = input.evidence
  if (input.supersedes?.length) body.supersedes = input.supersedes
  if (input.validFrom !== undefined || input.validTo !== undefined) {
    body.valid = {}
    if (input.validFrom !== undefined) body.valid.from = input.validFrom
    if (input.validTo !== undefined) body.valid.to = input.validTo
  }
  const sealed = sealOrExplain(() => seal(body, key))
  if (body.evidence) {
    const known = await deps.store.has(body.evidence)
    const missing = body.evidence.filter((e) => !known.has(e))
    if (missing.length) throw new UserError(`evidence ${missing[0]} is not a record in this store`, {exit: 1, code: 'not_found', hint: 'cite ids of stored records (see `steme log`)'})
  }
  if (body.supersedes) {
    const found = await deps.store.get(body.supersedes)
    const known = new Map(found.map((f) => [f.record.id, f.record]))
    const missing = body.supersedes.find((id) => !known.has(id))
    if (missing) throw new UserError(`supersedes ${missing}, which is not a record in this store`, {exit: 1, code: 'not_found', hint: 'name the id of your own earlier assertion (see `steme log`)'})
    const notAssertion = found.find((f) => f.record.kind !== 'assertion')
    if (notAssertion) throw new UserError(`supersedes ${notAssertion.record.id}, which is a ${notAssertion.record.kind}, not an assertion`, {exit: 1, code: 'rejected'})
  }
  await deps.store.insert([sealed])
  await deps.saveClock()
  return {id: sealed.record.id, record: sealed.record as AssertResult['record']}
}
