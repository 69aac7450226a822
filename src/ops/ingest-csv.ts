/**
 * CSV for ingest, a row at a time: a row that does not parse is rejected with its line number and
 * the rows around it are still read. csv-parse's own skip_records_with_error is not enough: after
 * some errors (text after a closing quote) it silently drops the rest of the chunk, and a quote
 * left open swallows the rest of the input. So lines are grouped into rows here, by their quotes
 * (a row goes on to the next line while a quoted field is open), and csv-parse parses whole rows.
 */
import {parse} from 'csv-parse/sync'
import {UserError} from '../core/errors.js'
import {BOUNDS} from '../core/record.js'
import type {LineError} from './ingest-check.js'

/** Good rows, as header name to cell, with the line each starts on. */
export interface CsvRows {
  rows: Array<Record<string, string>>
  nos: number[]
}

interface Row {
  lines: string[]
  nos: number[]
  /** Characters so far (for the bound on a row whose quote stays open). */
  size: number
  /** Whether a quoted field is open at the end of the last line. */
  open: boolean
  /** The cells, when the row was parsed on its own (rows over several lines are). */
  cells?: string[]
}

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

  line(text: string, no: number): void {
    let todo: Array<[string, number]> | undefined = this.add(text, no)
    // Lines to read again, after a row whose quote did not close was cut back to its first line.
    while (todo?.length) {
      const [t, n] = todo.shift()!
      const more = this.add(t, n)
      if (more) todo = [...more, ...todo]
    }
  }

  end(): void {
    while (this.row) {
      const again = this.unclosed()
      for (const [t, n] of again) this.line(t, n)
    }
    this.flush()
  }

  private add(text: string, no: number): Array<[string, number]> | undefined {
    let r = this.row
    if (!r) {
      if (text.trim() === '') return undefined
      r = this.row = {lines: [], nos: [], size: 0, open: false}
    }
    r.lines.push(text)
    r.nos.push(no)
    r.size += text.length + 1
    if (quotes(text) & 1) r.open = !r.open
    if (r.open) return r.size > BOUNDS.line ? this.unclosed() : undefined
    this.row = undefined
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
  private unclosed(): Array<[string, number]> {
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
    return r.lines.slice(1).map((t, i) => [t, r.nos[i + 1]])
  }

  private setHeader(r: Row): void {
    let cells = r.cells
    if (!cells) {
      try {
        cells = (parse(r.lines[0], OPTIONS) as string[][])[0]
      } catch (e) {
        throw this.headerError(r.nos[0], csvReason(e))
      }
    }
    this.header = cells
  }

  private headerError(line: number, why: string): UserError {
    return new UserError(`${this.name}:${line}: the CSV header row: ${why}`, {code: 'invalid_record', exit: 1, hint: 'nothing was stored; fix the header row (subject,predicate,value,...) and ingest again'})
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

/** The lines of a byte stream (CR LF accepted), decoded one by one, in one batch per chunk. */
export async function* streamLines(source: AsyncIterable<Buffer | string>, onBytes: (n: number) => void): AsyncGenerator<string[]> {
  let tail: Buffer[] = []
  const decode = (b: Buffer, from: number, to: number) => b.toString('utf8', from, to > from && b[to - 1] === 13 ? to - 1 : to)
  for await (const chunk of source) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
    onBytes(b.length)
    const last = b.lastIndexOf(10)
    if (last < 0) {
      tail.push(b)
      continue
    }
    const lines: string[] = []
    let at = 0
    if (tail.length) {
      const nl = b.indexOf(10)
      const joined = Buffer.concat([...tail, b.subarray(0, nl)])
      lines.push(decode(joined, 0, joined.length))
      tail = []
      at = nl + 1
    }
    while (at <= last) {
      const nl = b.indexOf(10, at)
      lines.push(decode(b, at, nl))
      at = nl + 1
    }
    if (last + 1 < b.length) tail.push(b.subarray(last + 1))
    yield lines
  }
  if (tail.length) {
    const joined = Buffer.concat(tail)
    yield [decode(joined, 0, joined.length)]
  }
}
