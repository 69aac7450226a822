/** A record read back from a store's row: the one check of its stored text every adapter makes before handing it on. */
import {UserError} from './errors.js'
import {KINDS, type Kind, type SignedRecord} from './record.js'

/**
 * What is wrong with a row's stored text when it is no record steme could have written: not
 * JSON, JSON that is no object of a known kind, or one without a field its kind has (see SHAPE). Undefined when it parses as such (the record
 * itself, with its id and signature, is fsck's to check: this is what reading must not trip on).
 */
export function storedTextProblem(canonical: string | null | undefined): string | undefined {
  return decodeStored(canonical).problem
}

/** The record a row's stored text holds (not yet given its id and signature), or what is wrong with the text: one parse for readers that report damage rather than throw (fsck). */
export function decodeStored(canonical: string | null | undefined): {record?: SignedRecord; problem?: string} {
  if (typeof canonical !== 'string') return {problem: 'its stored text is missing (NULL)'}
  let value: unknown
  try {
    value = JSON.parse(canonical)
  } catch (e) {
    return {problem: `its stored text is not JSON (${(e as Error).message}): ${excerpt(canonical)}`}
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {problem: `its stored text is JSON but no record (a record is an object): ${excerpt(canonical)}`}
  const kind = (value as {kind?: unknown}).kind
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) {
    return {problem: `its stored text is no record of a known kind (kind ${kind === undefined ? 'missing' : JSON.stringify(kind)}; known kinds: ${KINDS.join(', ')})`}
  }
  const missing = shapeProblem(value as Record<string, unknown>, kind as Kind)
  if (missing) return {problem: `its stored text is no whole ${kind} record (${missing}): ${excerpt(canonical)}`}
  return {record: value as SignedRecord}
}

/**
 * The fields readers use without looking, with the JSON type they read them as: every stored
 * record had them (it was checked when it came in), so text without them was damaged since.
 * Only presence and type, a few typeof per row: the full check (bounds, hex, the id and
 * signature) is fsck's.
 */
const SHAPE: Record<Kind, Array<[string, 'string' | 'number' | 'present']>> = {
  assertion: [['subject', 'string'], ['predicate', 'string'], ['value', 'present'], ['confidence', 'number']],
  vote: [['target', 'string'], ['weight', 'number']],
  retract: [],
  epoch: [['name', 'string'], ['starts', 'string']],
  trust: [['target', 'string'], ['weight', 'number']],
}
/** Optional fields readers follow when present (edges, text they print). */
const OPTIONAL: Array<[string, 'string' | 'array']> = [['source', 'string'], ['target', 'string'], ['epoch', 'string'], ['evidence', 'array'], ['supersedes', 'array']]

function shapeProblem(o: Record<string, unknown>, kind: Kind): string | undefined {
  // Every read of records passes here (a log of the whole store, a sync's serving side): a
  // straight test of the common case first, and the lists below only to say what is wrong.
  if (kind === 'assertion' && typeof o.agent === 'string' && typeof o.hlc === 'string' && typeof o.subject === 'string' && typeof o.predicate === 'string' && o.value !== undefined && typeof o.confidence === 'number' && (o.source === undefined || typeof o.source === 'string') && (o.target === undefined || typeof o.target === 'string') && (o.epoch === undefined || typeof o.epoch === 'string') && (o.evidence === undefined || Array.isArray(o.evidence)) && (o.supersedes === undefined || Array.isArray(o.supersedes))) {
    return undefined
  }
  for (const f of ['agent', 'hlc'] as const) if (typeof o[f] !== 'string') return wrong(f, o[f], 'text')
  for (const [f, t] of SHAPE[kind]) {
    if (t === 'present' ? o[f] === undefined : typeof o[f] !== t) return wrong(f, o[f], t === 'string' ? 'text' : t)
  }
  for (const [f, t] of OPTIONAL) {
    const v = o[f]
    if (v !== undefined && (t === 'array' ? !Array.isArray(v) : typeof v !== t)) return wrong(f, v, t === 'string' ? 'text' : 'an array')
  }
  return undefined
}

const wrong = (f: string, v: unknown, want: string) => (v === undefined ? `${f} missing` : `${f} is ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}, not ${want}`)

/** The start of a damaged text, enough to recognise it by, on one line. */
function excerpt(text: string): string {
  const one = JSON.stringify(text)
  return one.length > 60 ? `${one.slice(0, 57)}…"` : one
}

/**
 * A read that met a damaged row: which record, what is wrong, and that fsck lists them all. Exit
 * 1 (the command found a failure), code integrity, as fsck reports the same row.
 */
export class DamagedRecordError extends UserError {
  readonly id: string
  readonly problem: string
  constructor(id: string, problem: string) {
    super(`record ${id} in the store is damaged: ${problem}`, {code: 'integrity', exit: 1, hint: DAMAGED_HINT, details: {id}})
    this.name = 'DamagedRecordError'
    this.id = id
    this.problem = problem
  }
}

/** What to do about a damaged store. */
export const DAMAGED_HINT =
  'the store is damaged: run `steme fsck` to list every damaged record, then restore the store from a backup, pull the records from a peer into a new store (`steme init --dir <new>`, then `steme pull <remote>`), or copy the sound records into a new store with `steme migrate --from <this store> --to <new>`'

/** The record a row's stored text holds (not yet given its id and signature), or a DamagedRecordError naming the row. */
export function parseStored(canonical: string, id: string): SignedRecord {
  const {record, problem} = decodeStored(canonical)
  if (!record) throw new DamagedRecordError(id, problem!)
  return record
}
