/** Ingest NDJSON, a JSON array or CSV: verify signed records, sign plain facts, commit in batches, report bad lines. */
import {isUtf8} from 'node:buffer'
import type {Readable} from 'node:stream'
import {UserError} from '../core/errors.js'
import {initHash} from '../core/hash.js'
import type {KeyPair} from '../core/sign.js'
import {BOUNDS, jsonDepth} from '../core/record.js'
import type {Deps} from './deps.js'
import {changedByParsing, type ChunkJob, type ChunkResult, type LineError} from './ingest-check.js'
import {RecordError} from '../core/errors.js'
import {CsvReader, otherSeparator, streamLines} from './ingest-csv.js'
import {startRunner, type ChunkRunner} from './verify-pool.js'
import {parseValue} from './assert.js'

export type IngestFormat = 'auto' | 'ndjson' | 'json' | 'csv'

export interface IngestProgress {
  lines: number
  added: number
  present: number
  rejected: number
  bytes: number
}

export interface IngestSummary extends IngestProgress {
  /** The first rejections, in line order (all are counted in `rejected`). */
  errors: LineError[]
  format: Exclude<IngestFormat, 'auto'>
  /**
   * Set when `signal` stopped the reading: every line up to afterLine (NDJSON, CSV) was ingested,
   * none after it; unread when a JSON document was stopped before it was read whole, so nothing of it was stored.
   */
  interrupted?: {afterLine?: number; unread?: true}
}

export interface IngestInput {
  input: Readable
  format?: IngestFormat
  /** Name of the input for messages (a path or "stdin"); with format auto, a path's extension picks the format (see formatOfName). */
  name?: string
  chunkLines?: number
  threads?: number
  maxErrors?: number
  onProgress?: (p: IngestProgress) => void
  /** A long-lived worker pool to use (and leave open) instead of starting one; the daemon shares one across requests. */
  runner?: ChunkRunner
  /** Accept signed records only from these agents. */
  allowAgents?: string[]
  /** Stop reading when aborted (Ctrl-C): what was read is still checked and stored, and the summary says where it stopped. */
  signal?: AbortSignal
}

/** Bytes of NDJSON per worker job (about 2,400 signed records, or 10,000 plain facts). */
const CHUNK_BYTES = 1 << 20
/** Lines per job for JSON arrays and CSV. */
const CHUNK = 4096
/** Rows per append transaction. */
const GROUP_ROWS = 65_536

/** CSV columns that are not plain strings. */
const CSV_JSON = new Set(['value', 'evidence', 'supersedes', 'valid', 'weight'])
const CSV_NUM = new Set(['confidence'])

/**
 * What an ingest that failed part way (its store's server gone, its disk full) had done by then:
 * the records stored (added), those found stored already (present) and the lines rejected; for
 * NDJSON, lastLine: every line up to it was stored or rejected, and nothing after it was stored
 * (and rejected counts only the lines up to it, as the lines after it are read again on a rerun).
 * What a rerun of plain facts would store a second time follows from it.
 */
export interface IngestDone {
  added: number
  present: number
  rejected: number
  lastLine?: number
}

const doneBy = new WeakMap<object, IngestDone>()

/** What the ingest whose failure this is had done (undefined for an error that is not an ingest's). */
export const doneBeforeFailure = (e: unknown): IngestDone | undefined => (typeof e === 'object' && e !== null ? doneBy.get(e) : undefined)

export async function ingestOp(deps: Deps, input: IngestInput): Promise<IngestSummary> {
  const progress: IngestProgress = {lines: 0, added: 0, present: 0, rejected: 0, bytes: 0}
  const stored: StoredPrefix = {rejected: 0}
  try {
    return await ingestInto(deps, input, progress, stored)
  } catch (e) {
    if (typeof e === 'object' && e !== null && !doneBy.has(e)) {
      const {added, present} = progress
      // With a line to go on from, the rejections are those up to it: the lines after it are read
      // again by the command that goes on, and rejected again there, so they are not counted twice.
      const rejected = stored.ranged ? stored.rejected : progress.rejected
      doneBy.set(e, {added, present, rejected, ...(stored.lastLine !== undefined ? {lastLine: stored.lastLine} : {})})
    }
    throw e
  }
}

/**
 * The input stored so far: for NDJSON (ranged), every line up to lastLine was stored or rejected,
 * `rejected` of them rejected; lastLine is unset until a batch with records is stored.
 */
interface StoredPrefix {
  lastLine?: number
  rejected: number
  ranged?: boolean
}

async function ingestInto(deps: Deps, input: IngestInput, progress: IngestProgress, stored: StoredPrefix): Promise<IngestSummary> {
  let key: KeyPair | undefined
  let noKeyReason: string | undefined
  try {
    key = deps.key()
  } catch (e) {
    noKeyReason = e instanceof UserError ? `${e.message}; ${e.hint ?? ''}`.trim() : String(e)
  }
  const [runner] = await Promise.all([input.runner ?? startRunner(key, {threads: input.threads, noKeyReason}), initHash()])
  const skewMs = deps.config.skewSeconds * 1000
  const maxErrors = input.maxErrors ?? 100
  const errors: LineError[] = []
  const store = deps.store
  const columnar = typeof store.insertColumns === 'function'
  let seq = 0
  let inserting: Promise<void> = Promise.resolve()
  let failure: unknown
  const inflight = new Set<Promise<void>>()
  const limit = runner.parallelism * 3 + 1
  // Verified chunks wait here until there are enough for one large append (one transaction):
  // DuckDB appends and commits far cheaper in big batches than in chunk-sized ones.
  let group: ChunkResult[] = []
  let groupRows = 0
  // The last NDJSON line of the chunks taken so far (undefined once a chunk's lines are not known as a range).
  let takenThrough: number | undefined = 0

  // Groups handed to the store and not yet stored: checking waits when the store falls behind,
  // so verified rows cannot pile up in memory.
  let storing = 0
  let storeFailed = false
  const flush = () => {
    if (group.length === 0) return
    const parts = group
    const through = takenThrough
    // Rejections are counted as chunks are taken, in input order: these are the ones up to `through`.
    const rejectedThrough = progress.rejected
    group = []
    groupRows = 0
    storing++
    inserting = inserting.then(async () => {
      try {
        const res = columnar ? await store.insertColumns!(parts.map((r) => r.cols!)) : await store.insert(parts.flatMap((r) => r.ok))
        progress.added += res.added
        progress.present += res.present
        if (through) {
          stored.lastLine = through
          stored.rejected = rejectedThrough
        }
        input.onProgress?.({...progress})
      } finally {
        storing--
      }
    })
    inserting.catch((e) => {
      failure ??= e
      storeFailed = true
    })
  }

  /** Where a rejected entry is in the input, when its number is not already its line (JSON array elements). */
  let place = (e: LineError): LineError => e
  const onResult = (r: ChunkResult, last: number | undefined) => {
    takenThrough = takenThrough === undefined || last === undefined ? undefined : last
    stored.ranged = takenThrough !== undefined
    progress.lines += r.lines
    progress.rejected += r.errors.length
    for (const e of r.errors) if (errors.length < maxErrors) errors.push(place(e))
    if (r.maxHlc) deps.clock.receive(r.maxHlc)
    const rows = r.cols ? r.cols.n : r.ok.length
    if (rows === 0) return
    group.push(r)
    groupRows += rows
    if (groupRows >= GROUP_ROWS) flush()
  }

  // Chunks are taken in the order they were read, whichever worker finishes first, so what is stored
  // is always the input up to some line: a failure can say where to go on without storing anything twice.
  const held = new Map<number, {r: ChunkResult; last?: number}>()
  let nextSeq = 0
  const take = (n: number, r: ChunkResult, last: number | undefined) => {
    held.set(n, {r, last})
    for (let h = held.get(nextSeq); h; h = held.get(nextSeq)) {
      held.delete(nextSeq++)
      onResult(h.r, h.last)
    }
  }
  /** `last`: the job's last input line, when its lines are a range of the input's (NDJSON). */
  const submit = async (job: Omit<ChunkJob, 'seq' | 'nowMs' | 'skewMs'>, entries: number, last?: number) => {
    if (failure) throw failure
    if (storing >= 2) await inserting.catch(() => undefined)
    // Chunks held for an earlier one count too, so checked rows never pile up behind a slow chunk.
    while (inflight.size > 0 && inflight.size + held.size >= limit) await Promise.race(inflight)
    if (failure) throw failure
    const full: ChunkJob = {...job, seq: seq++, nowMs: Date.now(), skewMs, columnar}
    if (input.allowAgents) full.allowAgents = input.allowAgents
    if (key) full.stamp = deps.clock.reserve(entries)
    const p = runner.run(full).then((r) => take(full.seq, r, last), (e) => {
      failure ??= e
    })
    const tracked = p.finally(() => inflight.delete(tracked))
    inflight.add(tracked)
  }
  /** A line rejected on this thread (a CSV row that does not parse). */
  const reject = (e: LineError) => {
    progress.lines++
    progress.rejected++
    if (errors.length < maxErrors) errors.push(e)
  }
  const submitLines = (lines: string[], lineNos: ChunkJob['lineNos']) => submit({lines, lineNos}, lines.length)

  let format: Exclude<IngestFormat, 'auto'> = input.format && input.format !== 'auto' ? input.format : 'ndjson'
  // Read as a JSON document because it is one line starting {"records": (see below).
  let onlyLine = false
  let interrupted: IngestSummary['interrupted']
  const stopped = () => input.signal?.aborted === true
  // Whether the body ran to its end: after a failure, that failure is what the caller hears.
  let completed = false
  try {
    const chunks = input.input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>
    // Peek at the first line to pick the format when not told.
    const peeked: Array<Buffer | string> = []
    let head = ''
    while (head.length < HEAD_CHARS) {
      const n = await chunks.next()
      if (n.done) break
      peeked.push(n.value)
      head += typeof n.value === 'string' ? n.value.slice(0, HEAD_CHARS) : n.value.toString('utf8', 0, HEAD_CHARS)
      const t = head.trimStart()
      // A { alone may be all of the first piece of a pipe: whether a line break follows it decides
      // between NDJSON and one document over many lines, so the peek goes on to the line's end.
      if ((t[0] === '{' && !/^\{[ \t\r]*$/.test(t)) || t[0] === '[' || t.includes('\n')) break
    }
    if (!input.format || input.format === 'auto') {
      const named = formatOfName(input.name)
      // A JSON array starts with [: a .json file starting with { holds records one per line, unless
      // its first line is a { alone, which starts one document over many lines (`steme log --json`).
      format = named === 'json' && head.trimStart()[0] === '{' ? 'ndjson' : (named ?? sniffFormat(head))
      if (format === 'ndjson' && named !== 'ndjson' && /^\{[ \t\r]*\n/.test(head.trimStart())) format = 'json'
      // The same object on one line (`steme log --json | jq -c .`) is one document too, when that line
      // is the whole input: read on to its end, once per input, never per line of NDJSON.
      if (format === 'ndjson' && named !== 'ndjson' && RECORDS_HEAD.test(head) && (await oneLine(peeked, chunks))) {
        format = 'json'
        onlyLine = true
      }
    }
    // An abort ends the input at once, even while it waits for a pipe that stays open.
    const abort = new Promise<IteratorResult<Buffer | string>>((r) => input.signal?.addEventListener('abort', () => r({done: true, value: undefined}), {once: true}))
    const rest = (async function* () {
      yield* peeked
      for (;;) {
        const n = await Promise.race([chunks.next(), abort])
        if (n.done) return
        yield n.value
      }
    })()
    const size = input.chunkLines ?? CHUNK
    if (format === 'ndjson') {
      // Whole lines go to the workers as bytes; here they are only counted, for line numbers.
      const maxLines = input.chunkLines ?? Infinity
      // Whole lines waiting to go out as one job, and the bytes after the last newline seen.
      let pieces: Uint8Array[] = []
      let piecesLen = 0
      let piecesLines = 0
      let tail: Buffer = Buffer.alloc(0)
      let lineNo = 1
      const send = async () => {
        if (piecesLen === 0) return
        // One copy into a buffer of its own, which is then transferred to the worker.
        const text = new Uint8Array(piecesLen)
        let o = 0
        for (const p of pieces) {
          text.set(p, o)
          o += p.length
        }
        const lines = piecesLines
        pieces = []
        piecesLen = 0
        piecesLines = 0
        await submit({text, lineNos: {first: lineNo}}, lines, lineNo + lines - 1)
        lineNo += lines
      }
      const add = (b: Uint8Array) => {
        pieces.push(b)
        piecesLen += b.length
      }
      for await (const chunk of rest) {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
        progress.bytes += b.length
        const last = b.lastIndexOf(10)
        if (last < 0) {
          tail = tail.length ? Buffer.concat([tail, b]) : b
          continue
        }
        if (tail.length) add(tail)
        let start = 0
        // Stopped between two jobs of one chunk: the lines after the last job sent are not read.
        let cut = false
        // A job ends at maxLines lines or CHUNK_BYTES bytes, whichever comes first, even inside
        // one large chunk (a daemon request body arrives as a single chunk, so a stop must be
        // heeded here, not only between chunks).
        for (let nl = b.indexOf(10); nl >= 0 && nl <= last; nl = b.indexOf(10, nl + 1)) {
          if (++piecesLines >= maxLines || piecesLen + (nl + 1 - start) >= CHUNK_BYTES) {
            add(b.subarray(start, nl + 1))
            start = nl + 1
            await send()
            if (stopped()) {
              cut = true
              break
            }
          }
        }
        if (cut) break
        if (start <= last) add(b.subarray(start, last + 1))
        tail = b.subarray(last + 1)
        if (piecesLen >= CHUNK_BYTES) await send()
        if (stopped()) break
      }
      if (stopped()) {
        // Whole lines read so far go in; a line cut by the stop does not.
        await send()
        interrupted = {afterLine: lineNo - 1}
      } else {
        if (tail.length) {
          add(tail) // the last line, without a newline
          piecesLines++
        }
        await send()
      }
    } else if (format === 'json') {
      let text = ''
      const parts: Buffer[] = []
      for await (const t of rest) {
        const b = typeof t === 'string' ? Buffer.from(t) : t
        progress.bytes += b.length
        parts.push(b)
      }
      const bytes = Buffer.concat(parts)
      // Stopped while reading (Ctrl-C with a pipe still open, or a slow file): what came may end
      // inside the document, and a JSON text is stored only whole, so nothing of it is.
      if (stopped() && !wholeJson(bytes)) interrupted = {unread: true}
      else {
        if (!isUtf8(bytes)) {
          // Which element holds the bytes is not known once decoded; the line they are on is.
          let line = 1
          for (let at = 0, nl = bytes.indexOf(10); nl >= 0 && isUtf8(bytes.subarray(at, nl)); at = nl + 1, nl = bytes.indexOf(10, at)) line++
          // Read as one JSON text because it starts with [ (an array) or with a { alone on its line.
          const first = bytes.findIndex((c) => c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09 && c !== 0xef && c !== 0xbb && c !== 0xbf)
          throw new UserError(`${input.name ?? 'input'}:${line}: not valid UTF-8, so nothing from this ${bytes[first] === 0x7b ? 'JSON input' : 'JSON array'} was stored`, {
            code: 'invalid_record',
            exit: 1,
            hint: 'convert it to UTF-8; or to NDJSON (one record per line), where only the lines that are not UTF-8 are rejected',
          })
        }
        // A byte order mark is dropped, as for NDJSON and CSV (JSON.parse refuses it).
        text = bytes.toString('utf8', bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0)
        let doc: unknown
        const what = text.trimStart()[0] === '{' ? 'JSON document' : 'JSON array'
        // Objects one after another, each over many lines (`jq .` writes records so, and NDJSON lines
        // may follow a first record printed over many): each is a record, as each line of NDJSON is.
        let sequence: ReturnType<typeof objectSequence>
        try {
          doc = JSON.parse(text)
        } catch (e) {
          // Not `steme log --json` on one line after all: the line is rejected, as an NDJSON line is.
          if (onlyLine) doc = undefined
          else sequence = what === 'JSON document' ? objectSequence(text) : undefined
          if (!sequence && !onlyLine) throw new UserError(`${input.name ?? 'input'} is not a valid ${what}: ${(e as Error).message}`, {code: 'invalid_record', exit: 1, hint: 'use NDJSON (one record per line) to keep the good records of a damaged file'})
        }
        if (!sequence && !onlyLine && (doc === null || typeof doc !== 'object')) throw new UserError(`${input.name ?? 'input'} holds ${JSON.stringify(doc)?.slice(0, 40)}, not records`, {code: 'invalid_record', exit: 1, hint: 'give records as a JSON array, one JSON object, or NDJSON (one record per line)'})
        // One object over many lines is one record, or, with a records array, what `steme log --json` writes.
        const inner = sequence || Array.isArray(doc) ? undefined : recordsArray(text, doc)
        const arr = sequence ? sequence.values : Array.isArray(doc) ? doc : inner ? inner.records : [doc]
        // A line that is a record (it has fields besides "records") is one NDJSON line, and said so.
        if (onlyLine && !inner) format = 'ndjson'
        // Elements go to the workers numbered 1..n; a rejected one is reported on the line it starts
        // on, as NDJSON lines and CSV rows are, and by its number too when its line starts others.
        const spans = sequence ? sequence.spans : Array.isArray(doc) ? elementSpans(text) : inner ? inner.spans : [wholeSpan(text)]
        const starts = spans.map((s) => s.line)
        if (starts.length === arr.length) {
          const shared = new Set(starts.filter((l, k) => starts[k - 1] === l))
          place = (e) => {
            const line = starts[e.line - 1]
            return {...e, line, reason: shared.has(line) ? `element ${e.line}: ${e.reason}` : e.reason}
          }
        }
        for (let i = 0; i < arr.length; i += size) {
          // Stopped (a daemon's shutdown, whose request body is one JSON array): the elements sent so
          // far are stored, none after them, as between the jobs of an NDJSON body.
          if (stopped()) {
            interrupted = {}
            break
          }
          // Each element's own text, as an NDJSON line would be read: what parsing changes in a plain
          // fact (a key twice, a rounded number) is refused there, not signed as the parser left it.
          if (starts.length === arr.length) {
            await submitLines(spans.slice(i, i + size).map((s) => text.slice(s.start, s.end)), {first: i + 1})
            continue
          }
          const part = arr.slice(i, i + size)
          // An element too deep to re-encode becomes a text the line check rejects for its depth, with its own line.
          await submitLines(part.map((x) => (jsonDepth(x) > BOUNDS.depth ? '['.repeat(BOUNDS.depth + 1) : (JSON.stringify(x) ?? 'undefined'))), {first: i + 1})
        }
      }
    } else {
      // A row that does not parse is rejected here, on this thread; the good ones go to the workers.
      const reader = new CsvReader(input.name ?? 'input', size, reject)
      const drain = async () => {
        for (const part of reader.ready.splice(0)) {
          const lines: string[] = []
          const nos: number[] = []
          part.rows.forEach((r, k) => {
            try {
              lines.push(JSON.stringify(csvFact(r)))
              nos.push(part.nos[k])
            } catch (e) {
              if (!(e instanceof RecordError)) throw e
              reject({line: part.nos[k], reason: e.message})
            }
          })
          if (lines.length) await submitLines(lines, nos)
        }
      }
      let no = 1
      for await (const {lines, invalid} of streamLines(rest, (n) => (progress.bytes += n))) {
        for (let i = 0; i < lines.length; i++) reader.line(lines[i], no++, invalid !== undefined && invalid.has(i))
        await drain()
        if (stopped()) break
      }
      if (stopped()) {
        // Complete rows go in; a row cut by the stop (its quote still open) does not.
        const dropped = reader.stop()
        interrupted = {afterLine: (dropped ?? no) - 1}
      } else reader.end()
      await drain()
    }
    await Promise.all(inflight)
    flush()
    await inserting
    if (failure) throw failure
    completed = true
  } finally {
    await Promise.allSettled(inflight)
    // What verified before a failure is still stored (batches commit as they go), unless the
    // store itself is what failed.
    if (!storeFailed) flush()
    await inserting.catch(() => undefined)
    if (!input.runner) await runner.close()
    // A store that failed under the ingest (a PostgreSQL server gone) fails this too: its error
    // must not replace the ingest's own, which says what was kept and how to finish.
    await deps.saveClock().catch((e: unknown) => {
      if (completed) throw e
    })
  }
  errors.sort((a, b) => a.line - b.line)
  return interrupted ? {...progress, errors, format, interrupted} : {...progress, errors, format}
}

/** Characters of the input's start looked at to pick its format. */
const HEAD_CHARS = 1 << 16

/** The start of a JSON object whose first key is "records", as `steme log --json` writes it (a byte order mark and blanks before it). */
const RECORDS_HEAD = /^\uFEFF?\s*\{\s*"records"\s*:/

/**
 * Whether the input holds one line (blanks after it aside): reads on from the pieces already
 * peeked until a line break with more after it, or the end, keeping what it reads in `peeked`.
 */
async function oneLine(peeked: Array<Buffer | string>, chunks: AsyncIterator<Buffer | string>): Promise<boolean> {
  let broken = false
  for (let k = 0; ; k++) {
    if (k === peeked.length) {
      const n = await chunks.next()
      if (n.done) return true
      peeked.push(n.value)
    }
    const b = typeof peeked[k] === 'string' ? Buffer.from(peeked[k] as string) : (peeked[k] as Buffer)
    let at = broken ? 0 : b.indexOf(10)
    if (at < 0) continue
    broken = true
    for (; at < b.length; at++) {
      const c = b[at]
      if (c !== 0x0a && c !== 0x0d && c !== 0x20 && c !== 0x09) return false
    }
  }
}

/** The format a file's extension names: .ndjson or .jsonl, .json (a JSON array), .csv. */
export function formatOfName(name: string | undefined): Exclude<IngestFormat, 'auto'> | undefined {
  const ext = /\.(ndjson|jsonl|json|csv)$/i.exec(name ?? '')?.[1].toLowerCase()
  return ext === 'csv' ? 'csv' : ext === 'json' ? 'json' : ext ? 'ndjson' : undefined
}

/** Names in a CSV header row that make a first line one: the record fields a CSV row can carry. */
const CSV_HEADER = new Set(['subject', 'predicate', 'value', 'confidence', 'source', 'epoch', 'evidence', 'supersedes', 'valid', 'valid_from', 'valid_to', 'kind', 'target', 'weight', 'name', 'starts', 'reason', 'note'])

/**
 * The format of an input without a telling extension, from its start: [ is a JSON array, { is
 * NDJSON, and so is anything else unless the first line is a CSV header: names (or empty), at least one
 * of them a record field.
 * NDJSON is the safe guess: a damaged first line is then one rejected line, not a whole file read
 * as CSV.
 */
export function sniffFormat(head: string): Exclude<IngestFormat, 'auto'> {
  const text = head.trimStart() // also drops a byte order mark
  if (text[0] === '[') return 'json'
  if (text[0] === '{' || text === '') return 'ndjson'
  const nl = text.indexOf('\n')
  const first = nl < 0 ? text : text.slice(0, nl)
  // Separated by ; or tabs: CSV, so the header row's check says what the separator is.
  if (!first.includes(',') && otherSeparator(first.replace(/\r$/, ''))) return 'csv'
  const names = first.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1').trim())
  return names.every((c) => c === '' || /^\w+$/.test(c)) && names.some((c) => CSV_HEADER.has(c)) ? 'csv' : 'ndjson'
}

/**
 * A CSV row as a plain fact: JSON-looking cells parsed, empty cells dropped. A JSON cell that
 * parsing would change (a key twice, a number past 2^53 inside it) is a RecordError naming its
 * column; a number alone in its cell that JSON cannot carry is kept as the text, as assert keeps it.
 */
function csvFact(row: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(row)) {
    if (v === '') continue
    if (CSV_NUM.has(k)) out[k] = Number.isNaN(Number(v)) ? v : Number(v)
    else if (CSV_JSON.has(k)) {
      const parsed = parseValue(v)
      if (parsed !== null && typeof parsed === 'object') {
        const changed = changedByParsing(v, k)
        if (changed) throw changed
      }
      out[k] = parsed
    } else if (k === 'valid_from' || k === 'valid_to') {
      const valid = (out.valid ??= {}) as Record<string, string>
      valid[k.slice(6)] = v
    } else out[k] = v
  }
  return out
}

/**
 * The records of a JSON object holding them in a "records" array (`steme log --json` writes that),
 * with the span of each element in the whole text; undefined for any other object.
 */
function recordsArray(text: string, doc: unknown): {records: unknown[]; spans: Array<{line: number; start: number; end: number}>} | undefined {
  if (doc === null || typeof doc !== 'object') return undefined
  const records = (doc as {records?: unknown}).records
  if (!Array.isArray(records) || Object.keys(doc as object).length !== 1) return undefined
  // The object's only key is "records": its value is the first [ outside a string.
  let at = text.indexOf('{') + 1
  for (; at < text.length && text.charCodeAt(at) !== 0x5b; at++) if (text.charCodeAt(at) === 0x22) for (at++; text.charCodeAt(at) !== 0x22; at++) if (text.charCodeAt(at) === 0x5c) at++
  let before = 0
  for (let nl = text.indexOf('\n'); nl >= 0 && nl < at; nl = text.indexOf('\n', nl + 1)) before++
  const spans = elementSpans(text.slice(at)).map((s) => ({line: s.line + before, start: s.start + at, end: s.end + at}))
  return {records, spans}
}

/** Whether bytes read before a stop hold a whole JSON input (an array, an object, or objects one after another). */
function wholeJson(bytes: Buffer): boolean {
  if (!isUtf8(bytes)) return false
  const text = bytes.toString('utf8', bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0)
  try {
    JSON.parse(text)
    return true
  } catch {
    return text.trimStart()[0] === '{' && objectSequence(text) !== undefined
  }
}

/**
 * A text of JSON objects one after another (blanks between them, each over as many lines as it
 * likes), with the span of each; undefined unless there are two or more and each parses, so a
 * damaged text is refused whole, as one damaged document is.
 */
function objectSequence(text: string): {values: unknown[]; spans: Array<{line: number; start: number; end: number}>} | undefined {
  const values: unknown[] = []
  const spans: Array<{line: number; start: number; end: number}> = []
  let line = 1
  let at = 0
  const n = text.length
  for (;;) {
    for (let c = text.charCodeAt(at); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = text.charCodeAt(++at)) if (c === 0x0a) line++
    if (at >= n) break
    if (text.charCodeAt(at) !== 0x7b) return undefined
    const start = at
    const first = line
    let depth = 0
    for (; at < n; at++) {
      const c = text.charCodeAt(at)
      if (c === 0x22) {
        for (at++; at < n && text.charCodeAt(at) !== 0x22; at++) if (text.charCodeAt(at) === 0x5c) at++
      } else if (c === 0x7b || c === 0x5b) depth++
      else if (c === 0x7d || c === 0x5d) {
        if (--depth === 0) break
      } else if (c === 0x0a) line++
    }
    if (at >= n) return undefined
    at++
    try {
      values.push(JSON.parse(text.slice(start, at)))
    } catch {
      return undefined
    }
    spans.push({line: first, start, end: at})
  }
  return values.length >= 2 ? {values, spans} : undefined
}

/** The span of a JSON text that is one value: all of it but the blanks around it, from the line it starts on. */
function wholeSpan(text: string): {line: number; start: number; end: number} {
  const start = text.length - text.trimStart().length
  let line = 1
  for (let nl = text.indexOf('\n'); nl >= 0 && nl < start; nl = text.indexOf('\n', nl + 1)) line++
  return {line, start, end: text.trimEnd().length}
}

/**
 * Each element of a JSON array, for a text JSON.parse has accepted as an array: the line (1-based)
 * it starts on and where its text starts and ends (blanks around it left out). One pass, counting
 * newlines outside strings and noting where a value begins and ends at depth 1.
 */
export function elementSpans(text: string): Array<{line: number; start: number; end: number}> {
  const out: Array<{line: number; start: number; end: number}> = []
  let line = 1
  let depth = 0
  let want = false // at depth 1, after [ or a comma: the next value starts an element
  let open: {line: number; start: number} | undefined
  let last = 0 // just after the last character of a value seen
  const close = () => {
    if (open) out.push({...open, end: last})
    open = undefined
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x0a) {
      line++
      continue
    }
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0xfeff) continue
    if (c === 0x2c) {
      if (depth === 1) {
        close()
        want = true
      }
      continue
    }
    if (c === 0x5d || c === 0x7d) {
      if (--depth === 0) close()
      else last = i + 1
      continue
    }
    if (depth === 1 && want) {
      open = {line, start: i}
      want = false
    }
    if (c === 0x5b || c === 0x7b) {
      if (++depth === 1) want = true
    } else if (c === 0x22) {
      // A string: skip to its closing quote (a valid JSON string holds no raw newline).
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++
    }
    if (depth > 1 || c !== 0x5b) last = i + 1
  }
  return out
}
