/** Rows of a batch in COPY text format, for the staging tables of an insert. */
import type {Sealed} from '../../core/seal.js'

/**
 * PostgreSQL text cannot hold U+0000. JSON strings can, so typed columns store it as U+FFFD
 * (the canonical text keeps the exact escape); lookups map their argument the same way and
 * re-check the exact value against the record.
 */
export const pgText = (s: string): string => (s.includes('\0') ? s.replaceAll('\0', '\uFFFD') : s)

const NEEDS_ESCAPE = /[\\\n\r\t\0]/

/** One field in COPY text format: backslash, newline, CR and tab escaped. */
function field(s: string | undefined): string {
  if (s === undefined) return '\\N'
  if (!NEEDS_ESCAPE.test(s)) return s
  return pgText(s).replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'))
}

/** A bytea from hex, in COPY text format (the backslash of \x escaped). */
const bytea = (hex: string) => '\\\\x' + hex

export const STAGE_COLUMNS = 'id, kind, agent, hlc, subject, predicate, target, source, canonical, sig'

/**
 * Lines joined into pieces of about 1 MiB: few writes to the socket, and no single string
 * near V8's length limit however large the batch (records may be 256 KiB each).
 */
class Pieces {
  readonly out: string[] = []
  private buf: string[] = []
  private size = 0
  push(line: string): void {
    this.buf.push(line)
    this.size += line.length
    if (this.size >= 1 << 20) this.flush()
  }
  flush(): string[] {
    if (this.buf.length) this.out.push(this.buf.join(''))
    this.buf = []
    this.size = 0
    return this.out
  }
}

/** COPY text for the records table and the refs table of a batch of distinct records, in pieces. */
export function copyRows(batch: readonly Sealed[]): {records: string[]; refs: string[]} {
  const records = new Pieces()
  const refs = new Pieces()
  for (const {record: r, canonical} of batch) {
    const id = bytea(r.id)
    let subject: string | undefined
    let predicate: string | undefined
    let target: string | undefined
    let source: string | undefined
    if (r.kind === 'assertion') {
      subject = r.subject
      predicate = r.predicate
      source = r.source
      for (const dst of r.evidence ?? []) refs.push(`${id}\t${dst}\tevidence\n`)
      for (const dst of r.supersedes ?? []) refs.push(`${id}\t${dst}\tsupersedes\n`)
    } else if (r.kind === 'retract') {
      target = r.target
      source = r.source
    } else if (r.kind !== 'epoch') {
      target = r.target
    }
    records.push(
      `${id}\t${r.kind}\t${r.agent}\t${r.hlc}\t${field(subject)}\t${field(predicate)}\t${field(target)}\t${field(source)}\t${field(canonical)}\t${bytea(r.sig)}\n`,
    )
  }
  return {records: records.flush(), refs: refs.flush()}
}
