/**
 * A lean read path over @duckdb/node-bindings: VARCHAR-only results decoded by hand. The
 * full @duckdb/node-api costs ~60 ms to load, more than a whole query; commands that only
 * read (query, show, log) never load it, and writers load it on first use.
 */
import {createRequire} from 'node:module'
import type * as Bindings from '@duckdb/node-bindings'

export const duck = createRequire(import.meta.url)('@duckdb/node-bindings') as typeof Bindings
export type Param = string | Uint8Array
/** A result value: VARCHAR as text (or bytes, see Reader.bytes), BLOB as hex, BIGINT as a number (exact below 2^53), HUGEINT as a bigint. */
export type Value = string | Uint8Array | number | bigint | null

const decoder = new TextDecoder()

/**
 * The on-disk format DuckDB writes. Its default stays readable by DuckDB 1.0, which means
 * converting every index to the old layout at each checkpoint. The current format, measured
 * on 600k records in 65k-row commits with this schema's indexes: 6.3-6.5 s of CPU instead of
 * 7.3-8.7 s, and a 7% smaller file. Only DuckDB 1.5 or later opens such a file (steme pins
 * its DuckDB). Stores created by an older steme open and work as before.
 */
export const STORAGE_VERSION = 'v1.5.0'

/**
 * WAL size that triggers a checkpoint (DuckDB's default is 16 MiB). A checkpoint rewrites the
 * indexes of the whole table, about a second on a 1M-record store, so with the default a sync
 * of 100k records into one paid for three: 100k records in 10k-record commits took 5.5 s with
 * it and 3.6 s with 128 MiB, the final checkpoint at close included. The WAL replays on the
 * next open after a crash, so it only bounds recovery time, and the records it holds stay in
 * DuckDB's buffer pool, which spills to disk under its memory limit.
 */
export const CHECKPOINT_THRESHOLD = '128MiB'

/**
 * Open a database. `threads` caps DuckDB's worker threads: a point lookup is one small pipeline,
 * and handing it to a second thread costs more than it saves (measured on 2 cores under load: a
 * 50-row subject lookup 1.5 ms at 1 thread vs 4–10 ms at 2, and less CPU per query), so stores
 * that mostly answer lookups open with one thread.
 */
export async function openDatabase(path: string, readOnly: boolean, threads?: number): Promise<Bindings.Database> {
  const config = duck.create_config()
  if (readOnly) duck.set_config(config, 'access_mode', 'READ_ONLY')
  else {
    duck.set_config(config, 'storage_compatibility_version', STORAGE_VERSION)
    duck.set_config(config, 'checkpoint_threshold', CHECKPOINT_THRESHOLD)
  }
  if (threads !== undefined) duck.set_config(config, 'threads', String(threads))
  return duck.open(path, config)
}

/**
 * Run a query whose result columns are VARCHAR or BLOB; rows as arrays of strings (null for SQL
 * NULL), BLOBs as lowercase hex: decoding the bytes here costs less than `lower(hex(..))` in SQL.
 */
export async function queryStrings(conn: Bindings.Connection, sql: string, params: readonly Param[] = []): Promise<(string | null)[][]> {
  const stmt = await duck.prepare(conn, sql)
  try {
    return (await runStrings(stmt, params)) as (string | null)[][]
  } finally {
    duck.destroy_prepare_sync(stmt)
  }
}

/**
 * Read connections with a cache of prepared statements: planning costs ~0.3 ms of a ~1 ms
 * index lookup, and a query is a handful of fixed shapes. Two connections let independent
 * reads of one query run at once (DuckDB serialises statements on a connection).
 */
export class Reader {
  private readonly slots: Array<{conn: Bindings.Connection; stmts: Map<string, {stmt: Bindings.PreparedStatement; generation: number}>; busy: boolean}>
  private readonly waiting: Array<() => void> = []
  /** Bumped by stale(): statements prepared before it are prepared again. */
  private generation = 0

  constructor(conns: Bindings.Connection[]) {
    this.slots = conns.map((conn) => ({conn, stmts: new Map(), busy: false}))
  }

  strings(sql: string, params: readonly Param[] = []): Promise<(string | null)[][]> {
    return this.run(sql, params, false) as Promise<(string | null)[][]>
  }

  /**
   * The tables changed (a write committed): the statements prepared so far are planned again on
   * their next use. DuckDB plans a prepared statement with the table statistics of the moment
   * and reuses that plan (duckdb/duckdb#23704, #24182): run after rows were added, it can drop
   * rows a filter or join now matches, or read values through a range the statistics gave
   * (fsck's second look at sync_buckets, after --repair added rows to the empty table, read
   * counts of 4294967298 for 2).
   */
  stale(): void {
    this.generation++
  }

  /**
   * The same, with VARCHAR values as their UTF-8 bytes (copied out of the result): for values
   * that are only passed on as bytes, such as record lines to a sync peer, decoding them into
   * strings and encoding them again is all cost and garbage.
   */
  bytes(sql: string, params: readonly Param[] = []): Promise<(Uint8Array | null)[][]> {
    return this.run(sql, params, true) as Promise<(Uint8Array | null)[][]>
  }

  /**
   * Rows with BIGINT and HUGEINT columns read straight from the result's memory: casting them
   * to VARCHAR in SQL costs DuckDB about 2 µs a HUGEINT value, and parsing the text back more.
   */
  values(sql: string, params: readonly Param[] = []): Promise<Value[][]> {
    return this.run(sql, params, false)
  }

  /**
   * A query of (key, blob) rows, the blobs gathered per key: the key a VARCHAR of at most 12 hex
   * digits (read as a number), the blob `width` bytes (more than 12: held out of line). For id
   * lists: a million ids come back as raw bytes in a few thousand copies, where
   * `string_agg(hex(id))` had DuckDB write 64 MB of hex that this side decoded into strings and
   * parsed back. Rows are read from the vectors' memory without an object per row: a view per
   * row (stringCells) was most of the time of reading a million ids.
   */
  blobsByKey(sql: string, params: readonly Param[], width: number): Promise<Map<number, Uint8Array>> {
    if (!(width > 12)) return Promise.reject(new Error('lean DuckDB reader: blobsByKey reads blobs longer than 12 bytes'))
    return this.withStatement(sql, async (stmt) => {
      const parts = new Map<number, Uint8Array[]>()
      await eachChunk(stmt, params, true, (chunk, n, kinds) => {
        if (kinds[0] !== 'text' || kinds[1] !== 'blob') throw new Error('lean DuckDB reader: blobsByKey needs (VARCHAR, BLOB) rows')
        gatherByKey(chunk, n, width, parts)
      })
      const out = new Map<number, Uint8Array>()
      for (const [k, l] of parts) out.set(k, l.length === 1 ? l[0] : Buffer.concat(l))
      return out
    })
  }

  private run(sql: string, params: readonly Param[], raw: boolean): Promise<Value[][]> {
    return this.withStatement(sql, (stmt) => runStrings(stmt, params, raw))
  }

  /** Run `use` with a cached prepared statement on a free connection. */
  private async withStatement<T>(sql: string, use: (stmt: Bindings.PreparedStatement) => Promise<T>): Promise<T> {
    let slot = this.slots.find((s) => !s.busy)
    while (!slot) {
      await new Promise<void>((r) => this.waiting.push(r))
      slot = this.slots.find((s) => !s.busy)
    }
    slot.busy = true
    try {
      const cached = slot.stmts.get(sql)
      let stmt: Bindings.PreparedStatement
      if (cached && cached.generation === this.generation) {
        stmt = cached.stmt
        duck.clear_bindings(stmt)
      } else {
        if (cached) {
          slot.stmts.delete(sql)
          duck.destroy_prepare_sync(cached.stmt)
        }
        // Taken before preparing: a write committed meanwhile makes this plan stale too.
        const generation = this.generation
        stmt = await duck.prepare(slot.conn, sql)
        if (slot.stmts.size >= 256) {
          for (const old of slot.stmts.values()) duck.destroy_prepare_sync(old.stmt)
          slot.stmts.clear()
        }
        slot.stmts.set(sql, {stmt, generation})
      }
      return await use(stmt)
    } finally {
      slot.busy = false
      this.waiting.shift()?.()
    }
  }

  /** Release the statements and the connections. */
  close(): void {
    for (const s of this.slots) {
      for (const {stmt} of s.stmts.values()) duck.destroy_prepare_sync(stmt)
      s.stmts.clear()
      duck.disconnect_sync(s.conn)
    }
  }
}

/** How a result column is read: duckdb_string_t (VARCHAR, BLOB) or fixed-width integers. */
type ColumnKind = 'text' | 'blob' | 'bigint' | 'hugeint'

function columnKind(result: Bindings.Result, c: number): ColumnKind {
  const t = duck.column_type(result, c)
  if (t === duck.Type.VARCHAR) return 'text'
  if (t === duck.Type.BLOB) return 'blob'
  if (t === duck.Type.BIGINT) return 'bigint'
  if (t === duck.Type.HUGEINT) return 'hugeint'
  // Reading another layout as strings would read out of bounds: refuse instead.
  throw new Error(`lean DuckDB reader: column ${c} has type ${duck.Type[t] ?? t}; cast it to VARCHAR in the query`)
}

/** Whether row r of a vector holds a value: DuckDB's validity mask (absent when every row does), one bit a row. */
const isValid = (validity: Uint8Array | null, r: number): boolean => !validity || (validity[r >> 3] & (1 << (r & 7))) !== 0

/** User-space addresses fit in 47 bits: a pointer read as a number is exact. */
const pointerAt = (view: DataView, off: number): number => view.getUint32(off + 4, true) * 2 ** 32 + view.getUint32(off, true)

const addressBox = new BigUint64Array(1)

/** A copy of `length` bytes of DuckDB memory at `address`. */
function copyAt(address: number, length: number): Uint8Array {
  addressBox[0] = BigInt(address)
  return duck.get_data_from_pointer(addressBox.buffer as ArrayBuffer, 0, length)
}

/**
 * Bytes between two values that still let one copy take both. Values of one vector sit back to
 * back in DuckDB's string heap, at most padded; a gap this small can only hold padding or an
 * allocator header between two live values, never an unmapped page.
 */
const MAX_GAP = 64

/**
 * Each row's bytes of a duckdb_string_t vector (VARCHAR or BLOB): a 4-byte length, then 12 inline
 * bytes or a 4-byte prefix and a pointer. Inline values are views into `data`; the others are
 * views into copies, one copy per run of values laid out back to back (checked from their
 * pointers and lengths, never assumed): copying each value alone costs ~1.5 µs a native call,
 * most of reading a million ids or a hundred thousand record lines.
 */
export function stringCells(data: Uint8Array, n: number, validity: Uint8Array | null): (Uint8Array | null)[] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  const out: (Uint8Array | null)[] = new Array(n).fill(null)
  const valid = (r: number) => isValid(validity, r)
  let r = 0
  while (r < n) {
    const len = valid(r) ? view.getUint32(r * 16, true) : -1
    if (len <= 12) {
      if (len >= 0) out[r] = data.subarray(r * 16 + 4, r * 16 + 4 + len)
      r++
      continue
    }
    // A run from row r: each next long value starts at most MAX_GAP bytes after the last ends.
    const start = pointerAt(view, r * 16 + 8)
    let end = start + len
    let last = r
    for (let q = r + 1; q < n; q++) {
      if (!valid(q)) continue
      const l = view.getUint32(q * 16, true)
      if (l <= 12) continue
      const p = pointerAt(view, q * 16 + 8)
      if (p < end || p - end > MAX_GAP) break
      end = p + l
      last = q
    }
    const copy = copyAt(start, end - start)
    for (let q = r; q <= last; q++) {
      if (!valid(q)) continue
      const l = view.getUint32(q * 16, true)
      if (l <= 12) out[q] = data.subarray(q * 16 + 4, q * 16 + 4 + l)
      else {
        const at = pointerAt(view, q * 16 + 8) - start
        out[q] = copy.subarray(at, at + l)
      }
    }
    r = last + 1
  }
  return out
}

/** The value of the 1 to 12 ASCII hex digits at `b[at..at+len)`, or -1. */
function hexAt(b: Uint8Array, at: number, len: number): number {
  if (len === 0 || len > 12) return -1
  let v = 0
  for (let i = at; i < at + len; i++) {
    const c = b[i] | 0x20
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1
    if (d < 0) return -1
    v = v * 16 + d
  }
  return v
}

/**
 * blobsByKey's work on one chunk: rows whose blobs lie back to back in DuckDB's memory (almost all
 * of them: a million ids came in ~2,400 runs) are copied in one native call, and each run of rows
 * with one key becomes one view of that copy.
 */
function gatherByKey(chunk: Bindings.DataChunk, n: number, width: number, parts: Map<number, Uint8Array[]>): void {
  const keyVector = duck.data_chunk_get_vector(chunk, 0)
  const blobVector = duck.data_chunk_get_vector(chunk, 1)
  const words = Math.ceil(n / 64) * 8
  const keyValid = duck.vector_get_validity(keyVector, words) as Uint8Array | null
  const blobValid = duck.vector_get_validity(blobVector, words) as Uint8Array | null
  const keyData = duck.vector_get_data(keyVector, n * 16)
  const keys = new DataView(keyData.buffer, keyData.byteOffset, keyData.byteLength)
  const blobData = duck.vector_get_data(blobVector, n * 16)
  const blobs = new DataView(blobData.buffer, blobData.byteOffset, blobData.byteLength)
  const bad = (r: number) => new Error(`lean DuckDB reader: blobsByKey row ${r}: expected a key of 1 to 12 hex digits and a ${width}-byte blob`)
  // Row r's key (inline: at most 12 bytes), or -1 when it is not 1 to 12 hex digits.
  const keyAt = (r: number): number => {
    if (!isValid(keyValid, r)) return -1
    const len = keys.getUint32(r * 16, true)
    return len > 12 ? -1 : hexAt(keyData, r * 16 + 4, len)
  }
  const blobOk = (r: number) => isValid(blobValid, r) && blobs.getUint32(r * 16, true) === width
  let r = 0
  while (r < n) {
    if (!blobOk(r)) throw bad(r)
    const start = pointerAt(blobs, r * 16 + 8)
    let end = start + width
    let last = r
    while (last + 1 < n && blobOk(last + 1) && pointerAt(blobs, (last + 1) * 16 + 8) === end) {
      end += width
      last++
    }
    const copy = copyAt(start, end - start)
    let q = r
    let key = keyAt(q)
    while (q <= last) {
      if (key < 0) throw bad(q)
      let e = q + 1
      let next = -1
      while (e <= last && (next = keyAt(e)) === key) e++
      let list = parts.get(key)
      if (!list) parts.set(key, (list = []))
      list.push(copy.subarray((q - r) * width, (e - r) * width))
      q = e
      key = next
    }
    r = last + 1
  }
}

/**
 * Bind the parameters, run, and hand each result chunk to `each` in order (its column kinds
 * checked first). Small results are materialized and read synchronously, without a thread-pool
 * hop per chunk. Large ones are streamed (`duckdb_fetch_chunk`, one hop a chunk of 2,048 rows):
 * a materialized result is a full copy of the rows that `result_get_chunk` then copies again,
 * about 0.3-0.5 ms a chunk; streamed, a million (bucket, id) rows were read in 250-500 ms
 * against 410-840 ms. A chunk's memory is only valid during `each`: values kept must be copied.
 */
async function eachChunk(
  stmt: Bindings.PreparedStatement,
  params: readonly Param[],
  streaming: boolean,
  each: (chunk: Bindings.DataChunk, n: number, kinds: ColumnKind[]) => void,
): Promise<void> {
  params.forEach((p, i) => (typeof p === 'string' ? duck.bind_varchar(stmt, i + 1, p) : duck.bind_blob(stmt, i + 1, p)))
  const result = await (streaming ? duck.execute_prepared_streaming(stmt) : duck.execute_prepared(stmt))
  let kinds: ColumnKind[] | undefined
  const count = streaming ? Infinity : duck.result_chunk_count(result)
  for (let ci = 0; ci < count; ci++) {
    const chunk = streaming ? await duck.fetch_chunk(result) : duck.result_get_chunk(result, ci)
    if (!chunk) break
    const n = duck.data_chunk_get_size(chunk)
    if (n === 0) break
    kinds ??= Array.from({length: duck.column_count(result)}, (_, c) => columnKind(result, c))
    each(chunk, n, kinds)
  }
}

async function runStrings(stmt: Bindings.PreparedStatement, params: readonly Param[], raw = false): Promise<Value[][]> {
  const rows: Value[][] = []
  // Raw reads are the large ones (record lines for a sync peer): streamed.
  await eachChunk(stmt, params, raw, (chunk, n, kinds) => {
    for (const row of decodeChunk(chunk, n, kinds, raw)) rows.push(row)
  })
  return rows
}

/**
 * A query's rows a chunk at a time as DuckDB produces them, decoded as Reader.strings decodes
 * them, on a connection the caller holds for the whole read: a large read without the full
 * API's row objects (reading a million contested assertions through them cost ~3.7 s of CPU,
 * ~1.3 s this way).
 */
export async function* streamRows(conn: Bindings.Connection, sql: string, params: readonly Param[] = []): AsyncIterable<Value[][]> {
  const stmt = await duck.prepare(conn, sql)
  try {
    params.forEach((p, i) => (typeof p === 'string' ? duck.bind_varchar(stmt, i + 1, p) : duck.bind_blob(stmt, i + 1, p)))
    const result = await duck.execute_prepared_streaming(stmt)
    let kinds: ColumnKind[] | undefined
    for (;;) {
      const chunk = await duck.fetch_chunk(result)
      if (!chunk) break
      const n = duck.data_chunk_get_size(chunk)
      if (n === 0) break
      kinds ??= Array.from({length: duck.column_count(result)}, (_, c) => columnKind(result, c))
      yield decodeChunk(chunk, n, kinds, false)
    }
  } finally {
    duck.destroy_prepare_sync(stmt)
  }
}

/** A chunk's rows: text decoded (or copied as bytes when `raw`), blobs as lowercase hex, integers as numbers (HUGEINT as bigint). */
function decodeChunk(chunk: Bindings.DataChunk, n: number, kinds: readonly ColumnKind[], raw: boolean): Value[][] {
  const cols = kinds.length
  const rows: Value[][] = []
  for (let r = 0; r < n; r++) rows.push(new Array(cols))
  for (let c = 0; c < cols; c++) {
    const vector = duck.data_chunk_get_vector(chunk, c)
    const kind = kinds[c]
    const data = duck.vector_get_data(vector, n * (kind === 'bigint' ? 8 : 16))
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
    const words = Math.ceil(n / 64)
    const validity = duck.vector_get_validity(vector, words * 8) as Uint8Array | null
    const cells = kind === 'text' || kind === 'blob' ? stringCells(data, n, validity) : undefined
    for (let r = 0; r < n; r++) {
      if (!isValid(validity, r)) {
        rows[r][c] = null
        continue
      }
      if (kind === 'bigint') {
        rows[r][c] = Number(view.getBigInt64(r * 8, true))
        continue
      }
      if (kind === 'hugeint') {
        // Lower 64 bits unsigned, then the upper 64 signed.
        rows[r][c] = (view.getBigInt64(r * 16 + 8, true) << 64n) + view.getBigUint64(r * 16, true)
        continue
      }
      const bytes = cells![r]!
      if (kind === 'blob') rows[r][c] = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
      // Inline values are views into the chunk: copied; longer ones are views into a copy.
      else if (raw) rows[r][c] = bytes.buffer === data.buffer ? Buffer.from(bytes) : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      else rows[r][c] = decoder.decode(bytes)
    }
  }
  return rows
}
