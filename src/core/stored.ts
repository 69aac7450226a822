/** A record read back from a store's row: the one check of its stored text every adapter makes before handing it on. */
import {UserError} from './errors.js'
import {KINDS, type SignedRecord} from './record.js'

/**
 * What is wrong with a row's stored text when it is no record steme could have written: not
 * JSON, or JSON that is no object of a known kind. Undefined when it parses as such (the record
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
  return {record: value as SignedRecord}
}

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
  constructor(id: string, problem: string) {
    super(`record ${id} in the store is damaged: ${problem}`, {
      code: 'integrity',
      exit: 1,
      hint: 'the store is damaged: run `steme fsck` to list every damaged record, then restore the store from a backup, pull the records from a peer into a new store (`steme init --dir <new>`, then `steme pull <remote>`), or copy the sound records into a new store with `steme migrate --from <this store> --to <new>`',
      details: {id},
    })
    this.name = 'DamagedRecordError'
    this.id = id
  }
}

/** The record a row's stored text holds (not yet given its id and signature), or a DamagedRecordError naming the row. */
export function parseStored(canonical: string, id: string): SignedRecord {
  const {record, problem} = decodeStored(canonical)
  if (!record) throw new DamagedRecordError(id, problem!)
  return record
}
