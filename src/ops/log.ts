/** Records in (hlc, id) order, optionally for one subject. */
import {UserError} from '../core/errors.js'
import {isHex} from '../core/hash.js'
import {HLC_RE} from '../core/hlc.js'
import type {SignedRecord} from '../core/record.js'
import type {LogPosition} from '../core/store.js'
import {otherForms} from '../core/text.js'
import type {Deps} from './deps.js'

export interface LogInput {
  subject?: string
  since?: string
  /** Only records strictly after this place in the log: where the page before ended. */
  after?: LogPosition
  limit?: number
}

/** A page of a log: its records and, when it is full (there may be more), where the next page starts. */
export interface LogPage {
  records: SignedRecord[]
  /** The last record's position (`<hlc>/<id>`) when the page holds `limit` records; absent when the log ended within it. */
  next?: string
}

/** The records of a log gathered (a daemon's page: bounded by the limit it passes). */
export async function logOp(deps: Pick<Deps, 'store'>, input: LogInput): Promise<LogPage> {
  const records: SignedRecord[] = []
  for await (const batch of logBatches(deps, input)) records.push(...batch)
  const next = nextOf(input, records.length, records[records.length - 1])
  return next === undefined ? {records} : {records, next}
}

/** Where the page after this one starts: a full page's last record; none when the log ended within it. */
const nextOf = (input: LogInput, count: number, last: SignedRecord | undefined): string | undefined =>
  input.limit !== undefined && count >= input.limit && last ? positionText(last) : undefined

/**
 * A log page as JSON text, in pieces of about `size` characters made as the store reads the
 * records: joined, the bytes of JSON.stringify(await logOp(deps, input)), without the page held
 * whole (a daemon's page of 100,000 records is ~45 MB of JSON). Ending the generator early (its
 * `return`) ends the store's read.
 */
export async function* logPageJson(deps: Pick<Deps, 'store'>, input: LogInput, size = 64 * 1024): AsyncGenerator<string, void, undefined> {
  let buf = '{"records":['
  let count = 0
  let last: SignedRecord | undefined
  for await (const batch of logBatches(deps, input)) {
    for (const r of batch) {
      buf += (count ? ',' : '') + JSON.stringify(r)
      count++
      last = r
      if (buf.length >= size) {
        yield buf
        buf = ''
      }
    }
  }
  const next = nextOf(input, count, last)
  yield buf + ']' + (next === undefined ? '' : ',"next":' + JSON.stringify(next)) + '}'
}

/** The records of a log a batch at a time, as the store reads them: what `steme log` prints as they come, never holding the store. */
export async function* logBatches(deps: Pick<Deps, 'store'>, input: LogInput): AsyncIterable<SignedRecord[]> {
  for await (const batch of deps.store.scan({subject: input.subject, since: input.since, after: input.after, limit: input.limit})) yield batch.map((s) => s.record)
}

/** A record's place in the log as text: `<hlc>/<id>`, what a page's `next` holds and `after` takes. */
export const positionText = (r: LogPosition): string => `${r.hlc}/${r.id}`

/** A place in the log from its text (`<hlc>/<id>`); `what` names the input in the error. */
export function parsePosition(text: string, what: string): LogPosition {
  const slash = text.indexOf('/')
  const hlc = text.slice(0, slash)
  const id = text.slice(slash + 1)
  if (slash < 0 || !HLC_RE.test(hlc) || !isHex(id, 64)) {
    throw new UserError(`${what} "${text.length > 100 ? text.slice(0, 100) + '…' : text}" is not a place in the log`, {
      hint: "pass the `next` of the page before, unchanged: a record's hlc and id joined by a slash, such as 0000019aa3c4d5e6-0000/<64 hex digits>",
    })
  }
  return {hlc, id}
}

/** A note for a lookup that found nothing by a subject holding * or ?, which a user may have meant as a pattern. */
export function patternNote(subject: string): string | undefined {
  if (!/[*?]/.test(subject)) return undefined
  return 'note: a subject is matched exactly, so * and ? in it are not wildcards; `steme log` lists the records stored, with their subjects'
}

/**
 * Refuse a subject or predicate typed as the empty string (most often an unset shell variable):
 * no record holds one, so the lookup could only answer that there is nothing, as if none were stored.
 */
export function notEmpty(text: string | undefined, what: string, usage: string): void {
  if (text !== '') return
  throw new UserError(`${what} is empty: no record has an empty ${what.replace(/^--/, '')}, so there would be nothing to find`, {
    hint: `name one, as in ${usage} (\`steme log\` lists what is stored); in a script, check the variable that should hold it`,
  })
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
export function hasRecords(t: {rt?: Pick<Deps, 'store'>; remote?: {log(input: Pick<LogInput, 'subject' | 'limit'>): Promise<{records: SignedRecord[]}>}}): (subject: string) => Promise<boolean> {
  return async (subject) => ((t.rt ? await logOp(t.rt, {subject, limit: 1}) : await t.remote!.log({subject, limit: 1})).records.length > 0)
}
