/**
 * CSV for ingest, a row at a time: a row that does not parse is rejected with its line number and
 * the rows around it are still read. csv-parse's own skip_records_with_error is not enough: after
 * some errors (text after a closing quote) it silently drops the rest of the chunk, and a quote
 * left open swallows the rest of the input. So lines are grouped into rows here, by their quotes
 * (a row goes on to the next line while a quoted field is open), and csv-parse parses whole rows.
 */
import {parse} from 'csv-parse/sync'
import {UserError} from '../core/errors.js'
import {closest} from '../core/words.js'
import {BOUNDS, RECORD_FIELDS} from '../core/record.js'
import {NOT_UTF8, pushLines, type LineError} from './ingest-check.js'

/** Good rows, as header name to cell, with the line each starts on. */
export interface CsvRows {
  rows: Array<Record<string, string>>
  nos: number[]
}

interface Row {
  lines: string[]
  nos: number[]
  /** Per line: whether its bytes are not UTF-8. */
  bad: boolean[]
  /** Characters so far (for the bound on a row whose quote stays open). */
  size: number
  /** Whether a quoted field is open at the end of the last line. */
  open: boolean
  /** The cells, when the row was parsed on its own (rows over several lines are). */
  cells?: string[]
}

/** A line to read: its text, number, and whether its bytes are not UTF-8. */
type Line = [string, number, boolean]

const OPTIONS = {trim: true, relax_column_count: true, record_delimiter: '\n', skip_empty_lines: false} as const
const NOT_CLOSED = 'CSV: a quote opened on this line is not closed (the lines after it are read as rows of their own)'

function quotes(s: string): number {
  let n = 0
  for (let i = s.indexOf('"'); i >= 0; i = s.indexOf('"', i + 1)) n++
  return n
}

/** Why csv-parse refused a row, without its line number (which counts from the row, not the file). */
function csvReason(e: unknown): string {
  const code = (e as {code?: string}).code
  if (code === 'INVALID_OPENING_QUOTE') return 'a quote inside a field that does not start with one (quote the whole field and double the quotes in it: "a ""b"" c")'
  if (code === 'CSV_INVALID_CLOSING_QUOTE' || code === 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE') return 'text after the closing quote of a field (quote the whole field and double the quotes in it)'
  return (e as Error).message.replace(/\s*(at|on) line \d+/g, '')
}

/**
 * Reads CSV lines one by one (line() then end()); good rows collect in `ready`, in blocks of
 * about `block` rows, and each bad one goes to `reject`. The first row is the header.
 */
export class CsvReader {
  header?: string[]
  readonly ready: CsvRows[] = []
  private row?: Row
  private pending: Row[] = []

  constructor(
    private readonly name: string,
    private readonly block: number,
    private readonly reject: (e: LineError) => void,
  ) {}

  /** Read the next line; `bad` when its bytes are not UTF-8 (`text` then holds U+FFFD for them). */
  line(text: string, no: number, bad = false): void {
    let todo: Line[] | undefined = this.add(text, no, bad)
    // Lines to read again, after a row whose quote did not close was cut back to its first line.
    while (todo?.length) {
      const [t, n, b] = todo.shift()!
      const more = this.add(t, n, b)
      if (more) todo = [...more, ...todo]
    }
  }

  /**
   * Stop early: the rows complete so far are handed out, and a row whose quote is still open is
   * dropped. Returns the line that row started on, if there was one.
   */
  stop(): number | undefined {
    const dropped = this.row?.nos[0]
    this.row = undefined
    this.flush()
    return dropped
  }

  end(): void {
    while (this.row) {
      const again = this.unclosed()
      for (const [t, n, b] of again) this.line(t, n, b)
    }
    this.flush()
  }

  private add(text: string, no: number, bad: boolean): Line[] | undefined {
    let r = this.row
    if (!r) {
      if (!bad && text.trim() === '') return undefined
      r = this.row = {lines: [], nos: [], bad: [], size: 0, open: false}
    }
    r.lines.push(text)
    r.nos.push(no)
    r.bad.push(bad)
    r.size += text.length + 1
    if (quotes(text) & 1) r.open = !r.open
    if (r.open) return r.size > BOUNDS.line ? this.unclosed() : undefined
    this.row = undefined
    if (r.bad.includes(true)) {
      // Not parsed: the cells would hold U+FFFD where the bytes were, and be signed so.
      if (!this.header) throw this.headerError(r.nos[0], 'is not valid UTF-8')
      const span = r.nos.length > 1 ? ` (the row on lines ${r.nos[0]}-${r.nos.at(-1)})` : ''
      this.reject({line: r.nos[0], reason: NOT_UTF8 + span})
      return undefined
    }
    if (r.lines.length > 1) {
      // A row over several lines is parsed now: if its first quote does not close where a field
      // ends, only its first line is rejected and the lines after it are read again.
      try {
        const got = parse(r.lines.join('\n'), OPTIONS) as string[][]
        if (got.length !== 1) throw new Error('not one row')
        r.cells = got[0]
      } catch {
        this.row = r
        return this.unclosed()
      }
    }
    if (!this.header) this.setHeader(r)
    else {
      this.pending.push(r)
      if (this.pending.length >= this.block) this.flush()
    }
    return undefined
  }

  /** Reject the first line of the open row; the lines after it are to be read again. */
  private unclosed(): Line[] {
    const r = this.row!
    this.row = undefined
    let reason = NOT_CLOSED
    try {
      parse(r.lines[0], OPTIONS)
    } catch (e) {
      if ((e as {code?: string}).code !== 'CSV_QUOTE_NOT_CLOSED') reason = `CSV row: ${csvReason(e)}`
    }
    if (!this.header) throw this.headerError(r.nos[0], reason.replace(/^CSV( row)?: /, ''))
    this.reject({line: r.nos[0], reason})
    return r.lines.slice(1).map((t, i) => [t, r.nos[i + 1], r.bad[i + 1]])
  }

  private setHeader(r: Row): void {
    let cells = r.cells
    if (!cells) {
      try {
        cells = (parse(r.lines[0], OPTIONS) as string[][])[0]
      } catch (e) {
        // "Subject";"Value" does not parse as comma-separated CSV: say why, not that a quote is misplaced.
        cells = otherSeparator(r.lines[0]) ? [r.lines[0]] : undefined
        if (!cells) throw this.headerError(r.nos[0], csvReason(e))
      }
    }
    const problem = headerProblem(cells)
    if (problem) throw this.headerError(r.nos[0], problem, cells.length === 1 && otherSeparator(cells[0]) ? 'nothing was stored; save the file with commas between its fields and ingest it again' : undefined)
    this.header = cells.map(columnName)
  }

  private headerError(line: number, why: string, hint = 'nothing was stored; fix the header row (subject,predicate,value,...) and ingest again'): UserError {
    return new UserError(`${this.name}:${line}: the CSV header row: ${why}`, {code: 'invalid_record', exit: 1, hint})
  }

  /** Parse the rows waiting (all in one call while they parse; else one by one) and move the good ones to `ready`. */
  private flush(): void {
    const rows = this.pending
    if (rows.length === 0) return
    this.pending = []
    const single = rows.filter((r) => !r.cells)
    let cells: string[][] | undefined
    try {
      cells = parse(single.map((r) => r.lines[0]).join('\n'), OPTIONS) as string[][]
      if (cells.length !== single.length) cells = undefined
    } catch {
      cells = undefined
    }
    const header = this.header!
    const out: CsvRows = {rows: [], nos: []}
    let k = 0
    for (const r of rows) {
      let got = r.cells
      if (!got) {
        if (cells) got = cells[k++]
        else {
          try {
            const one = parse(r.lines[0], OPTIONS) as string[][]
            if (one.length !== 1) throw new Error('not one row')
            got = one[0]
          } catch (e) {
            this.reject({line: r.nos[0], reason: `CSV row: ${csvReason(e)}`})
            continue
          }
        }
      }
      if (got.length !== header.length) {
        const span = r.nos.length > 1 ? ` (lines ${r.nos[0]}-${r.nos.at(-1)})` : ''
        this.reject({line: r.nos[0], reason: `CSV row${span} has ${got.length} fields where the header has ${header.length}`})
        continue
      }
      const row: Record<string, string> = {}
      for (let i = 0; i < header.length; i++) row[header[i]] = got[i]
      out.rows.push(row)
      out.nos.push(r.nos[0])
    }
    if (out.rows.length) this.ready.push(out)
  }
}

/** CSV columns beyond the record fields: valid_from and valid_to fill `valid`. */
const CSV_ONLY = ['valid_from', 'valid_to']

/**
 * The field a header cell names. Spreadsheets title their columns ("Subject", " Value "), and
 * record fields are lower case without spaces, so case and surrounding blanks do not count.
 */
const columnName = (cell: string) => cell.trim().toLowerCase()

/** The separator of a header row that names record fields when split by ";" or a tab, not by commas. */
export function otherSeparator(line: string): {char: string; name: string} | undefined {
  for (const [char, name] of [[';', 'semicolons (;)'], ['\t', 'tabs']] as const) {
    const names = line.split(char).map((c) => columnName(c.replace(/^\s*"(.*)"\s*$/, '$1')))
    if (names.length > 1 && names.every((c) => RECORD_FIELDS.has(c) || CSV_ONLY.includes(c))) return {char, name}
  }
  return undefined
}

/** Why a header row cannot be used (every row would be rejected, or a column lost), or undefined. */
export function headerProblem(cells: readonly string[]): string | undefined {
  const known = (c: string) => RECORD_FIELDS.has(c) || CSV_ONLY.includes(c)
  // A spreadsheet saved with another separator (";" in many locales, or a tab) makes one cell of the header.
  const sep = cells.length === 1 ? otherSeparator(cells[0]) : undefined
  if (sep) return `its columns are separated by ${sep.name}, not commas: steme reads comma-separated CSV (a spreadsheet saves it as "CSV UTF-8 (comma delimited)")`
  const first = new Map<string, number>()
  for (let i = 0; i < cells.length; i++) {
    const c = columnName(cells[i])
    const col = `column ${i + 1}`
    if (c === '') return `${col} has no name`
    if (first.has(c)) return `${col} ${JSON.stringify(cells[i])} names the same field as column ${first.get(c)! + 1}, so one of the two would be lost`
    first.set(c, i)
    if (!known(c)) {
      const columns = [...RECORD_FIELDS, ...CSV_ONLY].filter((k) => !['v', 'agent', 'hlc', 'id', 'sig'].includes(k))
      const near = closest(c, columns, {max: 1})[0]
      return `${col} ${JSON.stringify(cells[i])} is not a record field${near ? ` (did you mean ${near}?)` : ''}; columns may be ${columns.join(', ')}`
    }
  }
  return undefined
}

/**
 * The lines of a byte stream (CR LF accepted; a byte order mark at the start is dropped, as for
 * NDJSON: Excel's "CSV UTF-8" starts with one), decoded one by one, in one batch per chunk. Each
 * chunk's whole lines are checked for UTF-8 in one native call; only when that fails is each line
 * checked, and the indexes of those that are not UTF-8 are given in `invalid`.
 */
export async function* streamLines(source: AsyncIterable<Buffer | string>, onBytes: (n: number) => void): AsyncGenerator<{lines: string[]; invalid?: Set<number>}> {
  let tail: Buffer[] = []
  let first = true
  const unmarked = (batch: {lines: string[]; invalid?: Set<number>}) => {
    if (first && batch.lines[0]?.charCodeAt(0) === 0xfeff) batch.lines[0] = batch.lines[0].slice(1)
    first = false
    return batch
  }
  for await (const chunk of source) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    onBytes(b.length)
    const last = b.lastIndexOf(10)
    if (last < 0) {
      tail.push(b)
      continue
    }
    const lines: string[] = []
    let invalid: Set<number> | undefined
    let at = 0
    if (tail.length) {
      const nl = b.indexOf(10)
      const joined = Buffer.concat([...tail, b.subarray(0, nl)])
      invalid = pushLines(joined, 0, joined.length, lines, invalid)
      tail = []
      at = nl + 1
    }
    invalid = pushLines(b, at, last + 1, lines, invalid)
    if (last + 1 < b.length) tail.push(b.subarray(last + 1))
    yield unmarked({lines, invalid})
  }
  if (tail.length) {
    const joined = Buffer.concat(tail)
    const lines: string[] = []
    yield unmarked({lines, invalid: pushLines(joined, 0, joined.length, lines, undefined)})
  }
}
