/** Records in (hlc, id) order, optionally for one subject. */
import type {SignedRecord} from '../core/record.js'
import {otherForms} from '../core/text.js'
import type {Deps} from './deps.js'

export interface LogInput {
  subject?: string
  since?: string
  limit?: number
}

/** The records of a log gathered (a daemon's page: bounded by the limit it passes). */
export async function logOp(deps: Pick<Deps, 'store'>, input: LogInput): Promise<{records: SignedRecord[]}> {
  const records: SignedRecord[] = []
  for await (const batch of logBatches(deps, input)) records.push(...batch)
  return {records}
}

/** The records of a log a batch at a time, as the store reads them: what `steme log` prints as they come, never holding the store. */
export async function* logBatches(deps: Pick<Deps, 'store'>, input: LogInput): AsyncIterable<SignedRecord[]> {
  for await (const batch of deps.store.scan({subject: input.subject, since: input.since, limit: input.limit})) yield batch.map((s) => s.record)
}

/**
 * Notes for a subject typed on the command line whose other Unicode forms (NFC, NFD) have records:
 * they print the same ("drug:café") but are other subjects, which a lookup of the typed text misses.
 * `has` says whether a subject has records (one row is enough); stored records are never changed.
 */
export async function sameLookingNotes(subject: string, has: (subject: string) => Promise<boolean>): Promise<string[]> {
  const notes: string[] = []
  for (const {form, text} of otherForms(subject)) {
    if (!(await has(text))) continue
    notes.push(`there are also records about ${JSON.stringify(text)}, which looks the same but is written in Unicode ${form} (${form === 'NFD' ? 'accents as separate combining characters' : 'accents composed'}), so it is another subject; to see them, type it as $'${shellEscaped(text)}'`)
  }
  return notes
}

/** Text with every non-ASCII character as \uXXXX (or \UXXXXXXXX), as bash and zsh read $'...'. */
function shellEscaped(s: string): string {
  return s.replace(/[^\x20-\x26\x28-\x5b\x5d-\x7e]/gu, (c) => {
    const cp = c.codePointAt(0)!
    return cp === 0x27 ? "\\'" : cp === 0x5c ? '\\\\' : cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`
  })
}

/** Whether a subject has records, in a local store or through a daemon. */
export function hasRecords(t: {rt?: Pick<Deps, 'store'>; remote?: {log(input: LogInput): Promise<{records: SignedRecord[]}>}}): (subject: string) => Promise<boolean> {
  return async (subject) => ((t.rt ? await logOp(t.rt, {subject, limit: 1}) : await t.remote!.log({subject, limit: 1})).records.length > 0)
}
