/** Record one assertion signed by the local key. */
import {UserError} from '../core/errors.js'
import {field, firstUnsafe} from '../core/text.js'
import type {Assertion, AssertionBody, Json, Signed} from '../core/record.js'
import {seal} from '../core/seal.js'
import type {Deps} from './deps.js'
import {findStored} from './ids.js'
import {gatherContext} from './context.js'
import {explainRetraction} from '../lenses/cascade.js'
import {sealOrExplain} from './sealing.js'
import {inexactNumber, jsonOrText, scanJson} from '../core/json-scan.js'

export {inexactNumber}

export interface AssertInput {
  subject: string
  predicate: string
  /** The value, already read from what was typed (parseTypedValue). */
  value: Json
  confidence?: number
  source?: string
  epoch?: string
  evidence?: string[]
  supersedes?: string[]
  validFrom?: string
  validTo?: string
  /** Say when the new assertion is retracted from the start (its source is retracted, or all its evidence): needs a store that answers queries. */
  checkRetracted?: boolean
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
 * A name typed on the command line (subject, predicate, source, epoch), as it will be stored: in
 * Unicode NFC, so "café" is one subject whether the é was typed as one character or as e plus a
 * combining accent (as macOS file names have it), with a note when that changed the text. Refused
 * when it holds a control character: typed by accident, it makes a name that prints as escapes and
 * cannot be typed again. Records from elsewhere (ingest, sync) are not changed or refused: their
 * text is signed as it is.
 */
export function typedName(what: string, text: string): {text: string; note?: string} {
  const bad = firstUnsafe(text)
  if (bad) {
    throw new UserError(`${what} holds a control character (${bad.char} at character ${bad.at + 1}); a name with one prints as an escape and cannot be typed again`, {
      hint: `remove it from the ${what}`,
    })
  }
  const nfc = text.normalize('NFC')
  if (nfc === text) return {text}
  return {text: nfc, note: `${what} was stored as ${JSON.stringify(nfc)} in Unicode NFC (accents composed), not exactly as typed, so it is one ${what} however its accents were typed`}
}

/** A value typed on the command line, as it will be stored, and notes on what was made of it. */
export interface TypedValue {
  value: Json
  notes: string[]
}

/**
 * A value as typed: JSON when it is JSON, else the plain string. A number is stored as the number
 * it is, in its canonical JSON form: 1.10 is 1.1, 1e5 is 100000, -0 is 0, with a note saying so
 * and how to keep the text (--string). A number JSON cannot carry as typed (an integer past 2^53,
 * or out of range) is kept as the text, with a note, since as a number it would change value.
 * Refused (UserError, exit 2), so nothing wrong is signed: text that starts like JSON but is not
 * JSON, an object with a key twice (JSON.parse keeps the last silently), a number inside an array
 * or object that would change value, and null, which records cannot hold.
 */
export function parseTypedValue(text: string): TypedValue {
  let value: Json
  try {
    value = JSON.parse(text) as Json
  } catch (e) {
    if (!/^\s*["[{]/.test(text)) return {value: text, notes: []}
    throw new UserError(`value ${brief(text)} starts like JSON but is not JSON: ${(e as Error).message}`, {hint: STRING_HINT})
  }
  if (value === null) {
    throw new UserError('value null: a steme record cannot hold null (an assertion always has a value, and records omit what is absent)', {
      hint: `to store the text "null", pass --string; to take back an earlier assertion, retract it (steme retract <id>)`,
    })
  }
  if (typeof value === 'number') {
    const read = JSON.stringify(value)
    if (read === text.trim()) return {value, notes: []}
    if (inexactNumber(text, value)) {
      const as = Number.isFinite(value) ? `would be rounded to ${read}` : 'is out of range'
      return {value: text, notes: [`${text} was stored as the text ${JSON.stringify(text)}: as a JSON number it ${as}`]}
    }
    // As signed: -0 is 0 in canonical JSON.
    return {value: JSON.parse(read) as number, notes: [`${text.trim()} was stored as the number ${read}, its JSON form; to keep the text as typed, pass --string`]}
  }
  const notes: string[] = []
  if (typeof value === 'object') {
    const found = scanJson(text)
    if (found.key !== undefined) throw new UserError(`value: the key ${JSON.stringify(found.key)} appears twice in one object; JSON keeps only the last, silently`, {hint: 'write each key once'})
    if (found.changed) {
      const {typed, read} = found.changed
      throw new UserError(`value: the number ${typed} in it ${read === undefined ? 'is out of range' : `would be rounded to ${read}`}`, {hint: `write it as a string ("${typed}") to keep it as typed`})
    }
    if (found.reformed) notes.push(`the number ${found.reformed.typed} in it was stored as ${found.reformed.read}, its JSON form; to keep the text as typed, pass --string`)
  }
  return {value, notes}
}

const STRING_HINT = 'fix the JSON, or pass --string to store the text as it is, as a plain string'

const brief = (text: string) => JSON.stringify(text.length > 40 ? text.slice(0, 40) + '…' : text)


export async function assertOp(deps: Deps, input: AssertInput): Promise<AssertResult> {
  const key = deps.key()
  // Cited and replaced records by id or unique prefix (as `steme log` prints them), stored ones only.
  const evidence = await Promise.all((input.evidence ?? []).map(async (t) => (await findStored(deps, t, 'cite')).record))
  const supersedes = await Promise.all((input.supersedes ?? []).map(async (t) => (await findStored(deps, t, 'supersede')).record))
  const notAssertion = supersedes.find((r) => r.kind !== 'assertion')
  if (notAssertion) throw new UserError(`supersedes ${notAssertion.id}, which is a ${notAssertion.kind}, not an assertion`, {exit: 1, code: 'rejected'})
  const warnings: string[] = []
  for (const r of supersedes as Signed<AssertionBody>[]) {
    if (r.subject !== input.subject || r.predicate !== input.predicate) warnings.push(`supersedes ${r.id.slice(0, 12)}, an assertion about ${field(r.subject)} ${field(r.predicate)}: it drops out of the answers about that, not about ${field(input.subject)} ${field(input.predicate)}`)
    if (r.agent !== key.publicHex) warnings.push(`supersedes ${r.id.slice(0, 12)}, signed by another agent (${r.agent.slice(0, 12)}): honoured only where this key is the store's own or pre-trusted (docs/lenses.md)`)
  }
  const body: AssertionBody = {
    v: 1,
    kind: 'assertion',
    agent: key.publicHex,
    hlc: deps.clock.tick(),
    subject: input.subject,
    predicate: input.predicate,
    value: input.value,
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
  // Only a source or evidence can make a new assertion retracted at birth: the common case costs no
  // read. A daemon's store (--remote) answers only what storing needs, so it is not asked.
  if (input.checkRetracted && (body.source !== undefined || body.evidence)) warnings.push(...(await bornRetracted(deps, sealed.record as Assertion, key.publicHex)))
  if (warnings.length) res.warnings = warnings
  return res
}

/**
 * A source retraction holds for every assertion citing the source, later ones included, and a
 * derived assertion whose evidence is all retracted falls with it: a new assertion can be
 * retracted the moment it is stored. Said at once, or it silently never answers a query.
 */
async function bornRetracted(deps: Deps, a: Assertion, self: string): Promise<string[]> {
  const ctx = await gatherContext(deps, [a], {now: Date.now(), self})
  if (!ctx.retracted.has(a.id)) return []
  const chain = explainRetraction(a.id, ctx.retracted).map((l) => l.trim()).join(' ')
  const why = ctx.retracted.get(a.id)!.by === 'source' ? 'a retraction of a source holds for every assertion citing it, later ones too: cite another source' : 'cite evidence that stands'
  return [`${a.id.slice(0, 12)} is stored, but retracted from the start in this key's queries (${chain}); ${why}`]
}
