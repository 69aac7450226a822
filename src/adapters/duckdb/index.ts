/** The default store: an embedded DuckDB file, one writer process, bulk inserts through the Appender. */
import type {DuckDBAppender, DuckDBConnection, DuckDBInstance, DuckDBValue} from '@duckdb/node-api'
import type * as DuckDB from '@duckdb/node-api'
import type * as Bindings from '@duckdb/node-bindings'
import {createRequire} from 'node:module'
import {readFileSync, statSync} from 'node:fs'
import {UserError} from '../../core/errors.js'
import {damagedStoreError, storeNotWritable} from '../../core/render-error.js'
import type {Assertion, Kind, Retract, SignedRecord} from '../../core/record.js'
import type {Sealed} from '../../core/seal.js'
import {bucketFloor, bucketOf, fromLimbs, idLimbs} from '../../core/bucket.js'
import {columnMismatches, columnsToSealed, compareRecords, refsText, type DerivedProblem, type DerivedRepair, type Scanned, type TypedColumns, contestedBatches, valueTextSql, type ContestedPairs, type RecordColumns, type BucketId, type BucketSpan, type BucketSum, type CascadeGraph, type CascadeSeed, type EvidenceNode, type InsertResult, type ScanOptions, type Store, type StoreStats, prefixRange, walkLineage} from '../../core/store.js'
import {decodeStored, parseStored} from '../../core/stored.js'
import {MIGRATIONS, SCHEMA_VERSION} from './schema.js'
import {duck, openDatabase, queryStrings, Reader, streamRows, type Param} from './lean.js'
import * as derived from './derived.js'

// The full API loads on first use by a method that needs it (writes, scans, stats), with a
// plain CommonJS require: importing this CJS package from ESM makes Node lex its ~180
// re-exporting files for named exports, ~100 ms per process start (bench (e)).
let nodeApi: typeof DuckDB | undefined
const api = () => (nodeApi ??= createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckDB)

// BLOB columns come back as lowercase hex from the lean reader; the full API (scans) needs the hex in SQL.
const COLS = 'id, canonical, sig'
const HEX_COLS = 'lower(hex(id)) AS id, canonical, lower(hex(sig)) AS sig'

type Row = {id: string; canonical: string; sig: string}

function toSealed(row: Row): Sealed {
  return withIds(parseStored(row.canonical, row.id), row)
}

function withIds(record: SignedRecord, row: Row): Sealed {
  record.id = row.id
  record.sig = row.sig
  return {record, canonical: row.canonical}
}

/** A scanned row: with `damaged` (ScanOptions.damaged), a row whose text is no record comes marked instead of throwing. */
function scannedRow(row: Row, damaged: boolean | undefined): Scanned {
  if (!damaged) return toSealed(row)
  const d = decodeStored(row.canonical)
  return d.record ? withIds(d.record, row) : {record: {id: row.id, sig: row.sig} as SignedRecord, canonical: row.canonical, damaged: d.problem}
}

/** A stretch of a scan: hlc at or above `from` and below `to` (open where absent), row ids within `rows`, about `n` records. */
interface ScanRange {
  from?: string
  to?: string
  rows?: [number, number]
  n?: number
}

/** A scan's conditions with a range's. */
function rangeWhere(range: ScanRange, where: readonly string[], params: readonly DuckDBValue[]): [string[], DuckDBValue[]] {
  const w = [...where]
  const p = [...params]
  if (range.rows) {
    w.push(`records.rowid BETWEEN ${range.rows[0]} AND ${range.rows[1]}`)
  }
  if (range.from !== undefined) {
    w.push('hlc >= ?')
    p.push(range.from)
  }
  if (range.to !== undefined) {
    w.push('hlc < ?')
    p.push(range.to)
  }
  return [w, p]
}

/** A range of (subject, predicate) keys: at or above `from` and below `to` (open where absent). */
interface PairRange {
  from?: [string, string]
  to?: [string, string]
}

/** Sampled keys per range of the contested scan: enough that ranges come out within ~10% of one another. */
const SAMPLE_PER_RANGE = 100

/**
 * A pair range's conditions (to append to others) and their parameters. Each bound is also
 * given as a plain comparison of subject, which DuckDB checks while it scans (the exact test on
 * (subject, predicate) it only checks after reading every column). A bounded range holds no
 * key with a NULL column (a damaged row): such keys are counted apart (see contested).
 */
function pairRangeWhere(range: PairRange): [string, Param[]] {
  if (!range.from && !range.to) return ['', []]
  let w = ' AND predicate IS NOT NULL'
  const p: Param[] = []
  if (range.from) {
    w += ' AND subject >= ? AND (subject > ? OR predicate >= ?)'
    p.push(range.from[0], range.from[0], range.from[1])
  }
  if (range.to) {
    w += ' AND subject <= ? AND (subject < ? OR predicate < ?)'
    p.push(range.to[0], range.to[0], range.to[1])
  }
  return [w, p]
}

const idBytes = (hex: string): Param => new Uint8Array(Buffer.from(hex, 'hex'))
const rowOf = (r: (string | null)[]): Row => ({id: r[0]!, canonical: r[1]!, sig: r[2]!})

/** `IN (...)` lists are chunked so one query never carries an unbounded parameter list. */
const CHUNK = 1000
/**
 * Subject lookups: at most two at once (one per read connection), the second only after the
 * first has run this long; the most subjects one query carries. Four, not more: a batch's
 * answers are finished one after another on the event loop, so its last waits for the others.
 * On 2 cores, 8 daemon clients got 1,579-1,721 answers/s with batches of 8 and 2,004-2,458
 * with 4; 16 clients got 1,541-1,865 with 16, 2,137-2,581 with 8 and 1,769-2,794 with 4.
 */
const SUBJECT_LANES = 2
const SUBJECT_SLOW_MS = 5
const SUBJECT_BATCH = 4

/** Records in the first range of a scan in hlc order (see DuckDBStore.scanRanges): small, so the first rows come at once. */
const FIRST_RANGE = 8192

/** referencing() calls before the pointed-at prefilter is built, and the most distinct prefixes it reads to build it. */
const POINTED_AFTER = 8
const POINTED_MAX = 2_000_000
/** The most records with a target (votes, retractions, trust) a long-lived reader keeps in memory (~400 B each). */
const TARGETED_MAX = 100_000

export class DuckDBStore implements Store {
  private writes: Promise<unknown> = Promise.resolve()
  /** Whether this process wrote anything (close() checkpoints only then). */
  private dirty = false
  /** Whether recent batches were all new, so the next one is appended without a membership query. */
  private expectFresh = true

  private full?: {instance: DuckDBInstance; conn: DuckDBConnection}

  private constructor(
    readonly location: string,
    private readonly db: Bindings.Database,
    private readonly raw: Bindings.Connection,
    readonly readOnly: boolean,
    private readonly reader: Reader,
    private readonly threads: number | undefined,
  ) {}

  /** Counts this process's writes; DuckDB admits one writer process, so nothing else changes the file. */
  private writeCount = 0

  /**
   * The first 8 characters of every id some record points at, marked `t` when a record targets
   * it (votes, retractions) and `r` when an evidence or supersedes edge does, so referencing()
   * skips SQL for ids nothing points at (most candidates of most queries) and queries only the
   * half that can match. An IN-list lookup costs ~1 ms of DuckDB CPU even on empty tables, as much as
   * the whole candidate read. Exact as a prefilter because this process sees every write (one
   * writer process per file; read-only processes see none). Built once a process has asked
   * often enough to be a long-lived reader (a daemon, a benchmark), never for one CLI query.
   */
  private pointed?: Pointed
  private referencingCalls = 0
  /**
   * Every stored record with a target, by target, kept by the same long-lived readers while
   * there are at most TARGETED_MAX of them: a subject whose candidates carry votes then costs
   * one SQL statement instead of two. Filled only after a write commits (a rolled-back batch
   * must not show up here, unlike in the prefilter), so it is exact for the same reason.
   */
  private targeted?: {byTarget: Map<string, Row[]>; ids: Set<string>}

  changeCounter(): number {
    return this.writeCount
  }

  /** A write committed: count it, and have the reader plan its statements again (see Reader.stale). */
  private committed(): void {
    this.writeCount++
    this.reader.stale()
  }

  /**
   * `threads` caps DuckDB's worker threads (default: one per core until the first write, then
   * one: see singleThreaded). Processes that mostly answer lookups (a query, the daemon) open
   * with one: see openDatabase.
   */
  static async open(path: string, opts: {readOnly?: boolean; create?: boolean; threads?: number} = {}): Promise<DuckDBStore> {
    let db: Bindings.Database
    try {
      db = await openDatabase(path, !!opts.readOnly, opts.threads)
    } catch (e) {
      throw openError(path, e, !!opts.readOnly)
    }
    // One connection for writes (transactions, appenders), two for reads.
    const [main, r1, r2] = await Promise.all([duck.connect(db), duck.connect(db), duck.connect(db)])
    const store = new DuckDBStore(path, db, main, !!opts.readOnly, new Reader([r1, r2]), opts.threads)
    try {
      await store.migrate(!!opts.create)
    } catch (e) {
      // Not a steme store, or one this version cannot migrate: let go of the file (and its lock).
      await store.close().catch(() => undefined)
      throw e
    }
    return store
  }

  /** The full node-api over the same database and connection, loaded on first use. */
  private get conn(): DuckDBConnection {
    if (!this.full) {
      const {DuckDBInstance, DuckDBConnection} = api()
      this.full = {instance: new DuckDBInstance(this.db), conn: new DuckDBConnection(this.raw)}
    }
    return this.full.conn
  }

  private get instance(): DuckDBInstance {
    void this.conn
    return this.full!.instance
  }

  private strings(sql: string, params: readonly Param[] = []): Promise<(string | null)[][]> {
    return this.reader.strings(sql, params)
  }

  private async migrate(create: boolean): Promise<void> {
    let version = 0
    let hasSchema = true
    try {
      version = Number((await this.strings(`SELECT coalesce(max(version), 0)::VARCHAR FROM schema_version`))[0][0])
    } catch {
      hasSchema = false
    }
    if (!hasSchema && !create) {
      const tables = await this.strings(`SELECT count(*)::VARCHAR FROM information_schema.tables`)
      if (Number(tables[0][0]) > 0) throw new UserError(`${this.location} is a DuckDB file but not a steme store`, {code: 'no_store', hint: 'point --store at a steme store, or run `steme init` in a new directory'})
    }
    if (version > SCHEMA_VERSION) {
      throw new UserError(`${this.location} has schema version ${version}, newer than this steme understands (${SCHEMA_VERSION})`, {code: 'config', hint: 'upgrade steme'})
    }
    if (version === SCHEMA_VERSION) return
    if (this.readOnly) throw new UserError(`${this.location} needs a schema upgrade but is open read-only`, {code: 'config', hint: 'run any write command (for example `steme stats`) once without the daemon'})
    this.dirty = true
    await this.conn.run('BEGIN TRANSACTION')
    try {
      await this.conn.run('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP DEFAULT current_timestamp)')
      for (let v = version; v < SCHEMA_VERSION; v++) {
        for (const sql of MIGRATIONS[v]) await this.conn.run(sql)
        await this.conn.run('INSERT INTO schema_version (version) VALUES (?)', [v + 1])
      }
      await this.conn.run('COMMIT')
      this.committed()
    } catch (e) {
      // A failed flush may already have ended the transaction; the original error matters.
      await this.conn.run('ROLLBACK').catch(() => undefined)
      throw e
    }
  }

  /**
   * A read through the full API on the write connection, queued behind writes: a query run on
   * that connection while an appender is flushing makes the flush fail ("unsuccessful or closed
   * pending query result").
   */
  private rows<T>(sql: string, params: DuckDBValue[] = []): Promise<T[]> {
    return this.exclusive(async () => (await this.conn.runAndReadAll(sql, params)).getRowObjectsJS() as T[])
  }

  /** Writes are serialized: DuckDB's appender and explicit transactions share the one connection. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.writes.then(fn, fn)
    this.writes = next.catch(() => undefined)
    return next
  }

  insert(batch: readonly Sealed[]): Promise<InsertResult> {
    if (this.readOnly) return Promise.reject(new UserError(`${this.location} is open read-only`, {code: 'locked'}))
    return this.insertSealed(batch).then((r) => {
      // Every record of a batch that succeeded is stored, whether added now or before.
      if (this.targeted) for (const {record, canonical} of batch) if ('target' in record && record.target !== undefined) this.remember(record.target, {id: record.id, canonical, sig: record.sig})
      return r
    })
  }

  private insertSealed(batch: readonly Sealed[]): Promise<InsertResult> {
    return this.exclusive(async () => {
      const unique = new Map<string, Sealed>()
      for (const s of batch) unique.set(s.record.id, s)
      this.dirty = true
      // Fresh data (a new ingest) is the common case: append directly and let the primary key
      // catch an overlap, which rolls the batch back; only then pay for the membership query.
      if (this.expectFresh) {
        try {
          await this.appendAll([...unique.values()])
          return {added: unique.size, present: batch.length - unique.size}
        } catch (e) {
          if (!/Constraint Error|Duplicate key/i.test(String((e as Error)?.message))) throw e
          this.expectFresh = false
        }
      }
      const present = await this.has([...unique.keys()])
      const fresh = [...unique.values()].filter((s) => !present.has(s.record.id))
      this.expectFresh = present.size === 0
      if (fresh.length) await this.appendAll(fresh)
      return {added: fresh.length, present: batch.length - fresh.length}
    })
  }

  insertColumns(parts: readonly RecordColumns[]): Promise<InsertResult> {
    if (this.readOnly) return Promise.reject(new UserError(`${this.location} is open read-only`, {code: 'locked'}))
    const rows = parts.reduce((n, p) => n + p.n, 0)
    if (rows === 0) return Promise.resolve({added: 0, present: 0})
    if (!this.expectFresh) return this.insert(columnsToSealed(parts))
    return this.exclusive(async () => {
      this.dirty = true
      try {
        await this.transaction((app, refs) => {
          for (const c of parts) appendColumns(app, refs, c, this.pointed)
          return mergeSums(parts.map((c) => c.sums))
        })
        return {added: rows, present: 0}
      } catch (e) {
        if (!/Constraint Error|Duplicate key/i.test(String((e as Error)?.message))) throw e
        this.expectFresh = false
      }
      return undefined
    }).then((r) => {
      if (!r) return this.insert(columnsToSealed(parts))
      if (this.targeted) {
        for (const c of parts) {
          for (let i = 0; i < c.n; i++) {
            const t = c.target[i]
            if (t !== null) this.remember(t, {id: Buffer.from(c.ids.subarray(i * 32, i * 32 + 32)).toString('hex'), canonical: c.canonical[i], sig: Buffer.from(c.sigs.subarray(i * 64, i * 64 + 64)).toString('hex')})
          }
        }
      }
      return r
    })
  }

  /** Add a committed record with a target to the in-memory copy, dropping the copy when it grows past its bound. */
  private remember(target: string, row: Row): void {
    if (!holdTargeted(this.targeted!, target, row)) this.targeted = undefined
  }

  /** Fold fresh records' per-bucket sums into sync_buckets (inside the insert transaction): stage them, then upsert. */
  private async addBucketSums(sums: ReadonlyMap<number, readonly [number, bigint, bigint, bigint, bigint]>): Promise<void> {
    // Created inside the insert transaction, so a rollback cannot leave us believing it exists.
    await this.conn.run('CREATE TEMP TABLE IF NOT EXISTS sync_stage (bucket BIGINT, n BIGINT, l0 HUGEINT, l1 HUGEINT, l2 HUGEINT, l3 HUGEINT)')
    const st = await this.conn.createAppender('sync_stage', 'main', 'temp')
    try {
      for (const [b, [n, l0, l1, l2, l3]] of sums) {
        st.appendBigInt(BigInt(b))
        st.appendBigInt(BigInt(n))
        st.appendHugeInt(l0)
        st.appendHugeInt(l1)
        st.appendHugeInt(l2)
        st.appendHugeInt(l3)
        st.endRow()
      }
      st.flushSync()
      st.closeSync()
    } catch (e) {
      discard(st)
      throw e
    }
    await this.conn.run(`INSERT INTO sync_buckets SELECT * FROM temp.main.sync_stage ON CONFLICT (bucket) DO UPDATE SET
      n = sync_buckets.n + excluded.n, l0 = sync_buckets.l0 + excluded.l0, l1 = sync_buckets.l1 + excluded.l1,
      l2 = sync_buckets.l2 + excluded.l2, l3 = sync_buckets.l3 + excluded.l3`)
    await this.conn.run('DELETE FROM temp.main.sync_stage')
  }

  async bucketSums(from: number, to: number): Promise<BucketSum[]> {
    // Every sync reads the whole table (one row per non-empty 17-minute bucket: ~15k rows for
    // six months), at both ends: the limbs are read as numbers, not cast to text (which made
    // this ~200 ms on such a store).
    const rows = await this.reader.values('SELECT bucket, n, l0, l1, l2, l3 FROM sync_buckets WHERE bucket BETWEEN ?::BIGINT AND ?::BIGINT ORDER BY bucket', [String(from), String(to)])
    return rows.map((r) => ({bucket: r[0] as number, count: r[1] as number, sum: fromLimbs(r[2] as bigint, r[3] as bigint, r[4] as bigint, r[5] as bigint)}))
  }

  async bucketIds(spans: readonly BucketSpan[]): Promise<BucketId[]> {
    const out: BucketId[] = []
    for (const {bucket, ids} of await this.bucketIdLists(spans)) {
      const hex: string[] = []
      for (let k = 0; k < ids.length; k += 32) hex.push(Buffer.from(ids.buffer, ids.byteOffset + k, 32).toString('hex'))
      for (const id of hex.sort()) out.push({bucket, id})
    }
    return out
  }

  async bucketIdLists(spans: readonly BucketSpan[]): Promise<{bucket: number; ids: Uint8Array}[]> {
    // Narrow spans become one list of bucket keys (the first 11 hex digits of hlc), matched by a
    // semi-join inside the hlc envelope of all of them; wide spans get a range query each, which
    // row-group min/max on hlc prune. OR-ing hundreds of ranges instead makes DuckDB test every
    // row against every range (seconds on 1M records).
    const keys: string[] = []
    const wide: BucketSpan[] = []
    for (const sp of spans) {
      if (sp.to - sp.from < 64) for (let b = sp.from; b <= sp.to; b++) keys.push(b.toString(16).padStart(11, '0'))
      else wide.push(sp)
    }
    keys.sort()
    // Rows of (bucket key, id), gathered per bucket by the reader as raw bytes. Unsorted: a sync
    // sorts only the buckets it splits by prefix. Before, one row per bucket of
    // string_agg(hex(id)) made DuckDB write 64 hex digits an id that this side parsed back.
    const lists = new Map<number, Uint8Array[]>()
    const add = (m: Map<number, Uint8Array>) => {
      for (const [b, ids] of m) {
        const l = lists.get(b)
        if (l) l.push(ids)
        else lists.set(b, [ids])
      }
    }
    for (let i = 0; i < keys.length; i += 50_000) {
      const part = keys.slice(i, i + 50_000)
      add(
        await this.reader.blobsByKey(
          `SELECT left(hlc, 11) AS b, id FROM records WHERE hlc >= ? AND hlc < ? AND left(hlc, 11) IN (SELECT unnest(string_split(?, ',')))`,
          [part[0] + '00000-0000', bucketFloor(parseInt(part[part.length - 1], 16) + 1), part.join(',')],
          32,
        ),
      )
    }
    for (const sp of wide) add(await this.reader.blobsByKey(`SELECT left(hlc, 11) AS b, id FROM records WHERE hlc >= ? AND hlc < ?`, [bucketFloor(sp.from), bucketFloor(sp.to + 1)], 32))
    return [...lists].map(([bucket, l]) => ({bucket, ids: l.length === 1 ? l[0] : Buffer.concat(l)})).sort((a, b) => a.bucket - b.bucket)
  }

  /** Append records known to be new, in one transaction with their refs edges. */
  private appendAll(fresh: readonly Sealed[]): Promise<void> {
    return this.transaction((app, refs) => {
      const sums = new Map<number, [number, bigint, bigint, bigint, bigint]>()
      const pointed = this.pointed
      for (const {record: r, canonical} of fresh) {
        const id = Buffer.from(r.id, 'hex')
        app.appendBlob(id)
        app.appendVarchar(r.kind)
        app.appendVarchar(r.agent)
        app.appendVarchar(r.hlc)
        if (r.kind === 'assertion') {
          app.appendVarchar(r.subject)
          app.appendVarchar(r.predicate)
          app.appendNull()
        } else {
          app.appendNull()
          app.appendNull()
          if (r.kind === 'epoch' || (r.kind === 'retract' && r.target === undefined)) app.appendNull()
          else {
            app.appendVarchar((r as {target: string}).target)
            // Before the commit: a rolled-back batch leaves a harmless extra entry, never a missing one.
            pointed?.targets.add((r as {target: string}).target)
          }
        }
        const source = r.kind === 'assertion' || r.kind === 'retract' ? r.source : undefined
        if (source === undefined) app.appendNull()
        else app.appendVarchar(source)
        app.appendVarchar(canonical)
        app.appendBlob(Buffer.from(r.sig, 'hex'))
        app.endRow()
        if (r.kind === 'assertion') {
          for (const dst of r.evidence ?? []) appendRef(refs, id, dst, 'evidence', pointed)
          for (const dst of r.supersedes ?? []) appendRef(refs, id, dst, 'supersedes', pointed)
        }
        const b = bucketOf(r.hlc)
        let acc = sums.get(b)
        if (!acc) sums.set(b, (acc = [0, 0n, 0n, 0n, 0n]))
        const l = idLimbs(r.id)
        acc[0]++
        acc[1] += l[0]
        acc[2] += l[1]
        acc[3] += l[2]
        acc[4] += l[3]
      }
      return sums
    })
  }

  /**
   * One write transaction: `fill` appends rows to records and refs and returns their per-bucket
   * id sums, which go into sync_buckets before the commit.
   */
  private async transaction(fill: (app: DuckDBAppender, refs: DuckDBAppender) => ReadonlyMap<number, readonly [number, bigint, bigint, bigint, bigint]>): Promise<void> {
    await this.singleThreaded()
    await this.conn.run('BEGIN TRANSACTION')
    const open: DuckDBAppender[] = []
    try {
      const app = await this.conn.createAppender('records')
      open.push(app)
      const refs = await this.conn.createAppender('refs')
      open.push(refs)
      const sums = fill(app, refs)
      app.flushSync()
      app.closeSync()
      refs.flushSync()
      refs.closeSync()
      open.length = 0
      await this.addBucketSums(sums)
      await this.conn.run('COMMIT')
      this.committed()
    } catch (e) {
      // An appender left holding rows (a flush that failed on a duplicate key, say) would flush
      // them again when it is garbage-collected, inside whatever transaction runs then, and
      // abort it: drop its rows before closing it.
      for (const a of open) discard(a)
      // A failed flush may already have ended the transaction; the original error matters.
      await this.conn.run('ROLLBACK').catch(() => undefined)
      throw e
    }
  }

  /**
   * Writes run on one DuckDB thread. With more, the calling thread busy-waits (mutexes, task
   * queue polling) while DuckDB's own threads compress and build index entries for a commit:
   * measured, a 100k-record ingest spent ~1.8x the DuckDB CPU of the single-threaded run, CPU
   * the verifying workers need. Set once per store; reads here are index lookups that use one
   * thread anyway.
   */
  private threadsSet = false
  private async singleThreaded(): Promise<void> {
    // An explicit thread count (open({threads})) is the caller's choice and stays.
    if (this.threadsSet || this.threads !== undefined) return
    await this.conn.run('SET threads = 1')
    this.threadsSet = true
  }

  async get(ids: readonly string[]): Promise<Sealed[]> {
    const out: Sealed[] = []
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK)
      const rows = await this.strings(`SELECT ${COLS} FROM records WHERE id IN (${part.map(() => '?').join(',')})`, part.map(idBytes))
      out.push(...rows.map((r) => toSealed(rowOf(r))))
    }
    return out
  }

  async recordLines(ids: readonly string[]): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK)
      const rows = await this.reader.bytes(`SELECT ${LINE} FROM records WHERE id IN (${part.map(() => '?').join(',')})`, part.map(idBytes))
      for (const r of rows) out.push(r[0]!)
    }
    return out
  }

  async recordLinesIn(ids: readonly string[], from: number, to: number): Promise<Uint8Array[]> {
    if (ids.length === 0) return []
    // Row groups outside the hlc span are skipped by their min/max, and the id filter is a hash
    // semi-join over the rest: no per-id index probe and row fetch. The ids are 64-digit hex
    // (from the wire decoder, or found missing below), safe to join.
    const rows = await this.reader.bytes(`SELECT ${LINE} FROM records WHERE hlc >= ? AND hlc < ? AND id IN (SELECT unhex(unnest(string_split(?, ','))))`, [
      bucketFloor(from),
      bucketFloor(to + 1),
      ids.join(','),
    ])
    const out = rows.map((r) => r[0]!)
    if (rows.length < ids.length) {
      // Not in the span (or not stored at all): by id, as recordLines would.
      const found = new Set(out.map(lineId))
      const missing = ids.filter((id) => !found.has(id))
      out.push(...(await this.recordLines(missing)))
    }
    return out
  }

  async has(ids: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>()
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK)
      const rows = await this.strings(`SELECT id FROM records WHERE id IN (${part.map(() => '?').join(',')})`, part.map(idBytes))
      for (const r of rows) out.add(r[0]!)
    }
    return out
  }

  async idsWithPrefix(prefix: string, limit: number): Promise<string[]> {
    const [lo, hi] = prefixRange(prefix)
    const rows = await this.strings(`SELECT id FROM records WHERE id BETWEEN ? AND ? ORDER BY id LIMIT ${Math.max(0, Math.floor(limit))}`, [lo, hi])
    return rows.map((r) => r[0]!)
  }

  async assertions(subject: string, predicate?: string, until?: string): Promise<Assertion[]> {
    const out: Assertion[] = []
    for (const a of await this.bySubject(subject)) if ((predicate === undefined || a.predicate === predicate) && (until === undefined || a.hlc <= until)) out.push(a)
    return out.sort(compareRecords)
  }

  /**
   * Every record stored under one subject, parsed. One lookup runs at a time; lookups that
   * arrive meanwhile wait and then share one `subject IN (...)` query. DuckDB's index lookup has
   * a fixed cost of ~0.25 ms, and on the 1M-record store eight 10-row subjects cost 0.22 ms of
   * CPU each in one query against 0.64 ms alone. One lane also leaves the other core to the
   * event loop: on 2 cores, 8 clients of the daemon got 2,000-2,200 answers/s with one lane and
   * 1,600 with two. A lookup on an idle store runs at once, so this adds no latency; a second
   * lane opens only while the running lookup has taken SUBJECT_SLOW_MS, so one huge subject
   * does not hold up the rest.
   */
  private bySubject(subject: string): Promise<Assertion[]> {
    return new Promise((done, fail) => {
      this.subjectQueue.push({subject, done, fail})
      this.pumpSubjects()
    })
  }

  private subjectQueue: Array<{subject: string; done: (rows: Assertion[]) => void; fail: (e: unknown) => void}> = []
  /** When each running lookup started (performance.now()). */
  private subjectRunning: number[] = []
  private subjectTimer?: NodeJS.Timeout

  private pumpSubjects(): void {
    while (this.subjectQueue.length > 0 && this.subjectRunning.length < SUBJECT_LANES) {
      if (this.subjectRunning.length > 0) {
        const wait = SUBJECT_SLOW_MS - (performance.now() - Math.min(...this.subjectRunning))
        if (wait > 0) {
          this.subjectTimer ??= setTimeout(() => {
            this.subjectTimer = undefined
            this.pumpSubjects()
          }, Math.ceil(wait)).unref()
          return
        }
      }
      this.nextSubjects()
    }
  }

  private nextSubjects(): void {
    const batch = this.subjectQueue.splice(0, SUBJECT_BATCH)
    const started = performance.now()
    this.subjectRunning.push(started)
    const subjects = [...new Set(batch.map((b) => b.subject))]
    // `subject = ?` (or IN) must be the only condition: DuckDB uses the ART index on subject
    // only then, and scans all records (~15 ms on 1M) as soon as predicate or hlc join it. Both
    // are filtered after parsing: fetching two more columns per row costs more than the parse.
    // No sig (see Assertion): in a fresh process each column fetched reads one more 256 KB block
    // per record, ~12 ms for a 10-record subject on the 1M store (36 ms for canonical alone, 49
    // with id, 61 with id and sig, medians of ten processes).
    const sql = subjects.length === 1 ? `SELECT id, canonical FROM records WHERE subject = ?` : `SELECT id, canonical FROM records WHERE subject IN (${subjects.map(() => '?').join(',')})`
    void (async () => {
      try {
        const by = new Map<string, Assertion[]>()
        for (const r of await this.strings(sql, subjects)) {
          const a = parseStored(r[1]!, r[0]!) as Assertion
          a.id = r[0]!
          const list = by.get(a.subject)
          if (list) list.push(a)
          else by.set(a.subject, [a])
        }
        // A subject asked twice in one batch gets its own copies: callers may mutate records.
        const handed = new Set<string>()
        for (const b of batch) {
          const list = by.get(b.subject) ?? []
          b.done(handed.has(b.subject) ? list.map((a) => ({...a})) : list)
          handed.add(b.subject)
        }
      } catch (e) {
        for (const b of batch) b.fail(e)
      } finally {
        this.subjectRunning.splice(this.subjectRunning.indexOf(started), 1)
        this.pumpSubjects()
      }
    })()
  }

  async referencing(all: readonly string[]): Promise<SignedRecord[]> {
    if (++this.referencingCalls === POINTED_AFTER) void this.buildPointed()
    const pointed = this.pointed
    // Which ids records target and which edges point at: only those halves are queried.
    const targeted = pointed ? all.filter((id) => pointed.targets.has(id)) : all
    const edged = pointed ? all.filter((id) => pointed.edges.has(id)) : all
    const out: SignedRecord[] = []
    const seen = new Set<string>()
    const held = this.targeted
    if (held) {
      for (const id of targeted) {
        for (const row of held.byTarget.get(id) ?? []) {
          if (seen.has(row.id)) continue
          seen.add(row.id)
          out.push(toSealed(row).record)
        }
      }
    }
    const viaSql = held ? [] : targeted
    for (let i = 0; i < Math.max(viaSql.length, edged.length); i += CHUNK) {
      const tPart = viaSql.slice(i, i + CHUNK)
      const rPart = edged.slice(i, i + CHUNK)
      const marks = (n: number) => Array.from({length: n}, () => '?').join(',')
      // Constant IN lists use the ART indexes on target and refs.dst; a semi-join against a
      // subquery would scan every record instead. Rows with a null canonical are refs edges.
      const halves = [
        ...(tPart.length ? [`SELECT ${COLS} FROM records WHERE target IN (${marks(tPart.length)})`] : []),
        ...(rPart.length ? [`SELECT src, NULL::VARCHAR, NULL::VARCHAR FROM refs WHERE dst IN (${marks(rPart.length)})`] : []),
      ]
      const rows = await this.strings(halves.join(' UNION ALL '), [...tPart, ...rPart])
      const edges: string[] = []
      for (const r of rows) {
        if (r[1] === null) edges.push(r[0]!)
        else if (!seen.has(r[0]!)) {
          seen.add(r[0]!)
          out.push(toSealed(rowOf(r)).record)
        }
      }
      const fresh = [...new Set(edges)].filter((id) => !seen.has(id))
      for (const s of fresh.length ? await this.get(fresh) : []) {
        seen.add(s.record.id)
        out.push(s.record)
      }
    }
    return out.sort(compareRecords)
  }

  /** Load the pointed-at prefixes under the write lock, so no insert falls between the read and the first update. */
  private buildPointed(): Promise<void> {
    return this.exclusive(async () => {
      const rows = await this.strings(
        `SELECT DISTINCT p FROM (SELECT 't' || substr(target, 1, 7) AS p FROM records WHERE target IS NOT NULL UNION ALL SELECT 'r' || substr(dst, 1, 7) FROM refs) LIMIT ${POINTED_MAX + 1}`,
      )
      // Too many for the filter to skip much (and to read at once): stay with SQL for every call.
      if (rows.length <= POINTED_MAX) {
        const pointed: Pointed = {targets: new PrefixBits(), edges: new PrefixBits()}
        for (const [p] of rows) (p![0] === 't' ? pointed.targets : pointed.edges).add(p!.slice(1))
        this.pointed = pointed
      }
      const [[count]] = await this.strings('SELECT count(*)::VARCHAR FROM records WHERE target IS NOT NULL')
      if (Number(count) <= TARGETED_MAX) {
        // Filled completely before readers see it: referencing() runs outside the write lock,
        // and a half-loaded copy would answer "nothing points here" for what is still loading.
        const held: NonNullable<typeof this.targeted> = {byTarget: new Map(), ids: new Set()}
        let fits = true
        for (const r of await this.strings(`SELECT target, ${COLS} FROM records WHERE target IS NOT NULL`)) fits &&= holdTargeted(held, r[0]!, rowOf(r.slice(1)))
        if (fits) this.targeted = held
      }
    }).catch(() => undefined)
  }

  async ofKinds(kinds: readonly Kind[], until?: string): Promise<SignedRecord[]> {
    // One equality query per kind: `kind IN (...)` with ORDER BY scanned the table (~20x slower
    // on 1M records); the few rows are sorted here.
    const out: SignedRecord[] = []
    for (const kind of new Set(kinds)) {
      const params: Param[] = [kind]
      let sql = `SELECT ${COLS} FROM records WHERE kind = ?`
      if (until !== undefined) {
        sql += ' AND hlc <= ?'
        params.push(until)
      }
      for (const r of await this.strings(sql, params)) out.push(toSealed(rowOf(r)).record)
    }
    return out.sort(compareRecords)
  }

  lineage(ids: readonly string[], until?: string): Promise<Assertion[]> {
    return walkLineage((batch) => this.get(batch), ids, until)
  }

  async cascadeGraph(seed: CascadeSeed, until?: string): Promise<CascadeGraph> {
    const roots = new Set<string>()
    const nodes = new Map<string, EvidenceNode>()
    const untilSql = until === undefined ? '' : ' AND hlc <= ?'
    const untilParam: Param[] = until === undefined ? [] : [until]
    const parts: Array<{sql: string; params: Param[]}> = []
    const sources = [...(seed.sources ?? [])]
    for (let i = 0; i < sources.length; i += CHUNK) {
      const part = sources.slice(i, i + CHUNK)
      parts.push({sql: `SELECT id FROM records WHERE kind = 'assertion' AND source IN (${part.map(() => '?').join(',')})${untilSql}`, params: [...part, ...untilParam]})
    }
    const ids = [...(seed.ids ?? [])]
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK)
      parts.push({sql: `SELECT id FROM records WHERE kind = 'assertion' AND id IN (${part.map(() => '?').join(',')})${untilSql}`, params: [...part.map(idBytes), ...untilParam]})
    }
    for (const {sql, params} of parts) {
      for (const r of await this.strings(`SELECT id FROM (${sql})`, params)) roots.add(r[0]!)
      // The whole walk is one recursive query over evidence edges keyed by hex ids (refs keep
      // dst as hex; converting src once beats converting per join). Evidence lists come back
      // as one comma-joined string per node: materialising lists costs more than the walk.
      // Through the full API: its columnar read decodes 100k+ long strings far faster than the
      // lean row-by-row path, and a cascade is a write-side operation anyway.
      const reader = await this.exclusive(() => this.conn.runAndReadAll(
        `WITH RECURSIVE seeds AS (SELECT lower(hex(id)) AS h FROM (${sql})),
         e AS (SELECT lower(hex(src)) AS s, dst FROM refs WHERE rel = 'evidence'${until === undefined ? '' : ' AND src IN (SELECT id FROM records WHERE hlc <= ?)'}),
         reach(h) AS (
           SELECT e.s FROM e JOIN seeds ON e.dst = seeds.h
           UNION
           SELECT e.s FROM e JOIN reach ON e.dst = reach.h
         )
         SELECT e.s, string_agg(e.dst, ',') FROM e JOIN reach ON e.s = reach.h GROUP BY e.s`,
        [...params, ...untilParam].map((p) => (typeof p === 'string' ? p : api().blobValue(p))),
      ))
      const [ids = [], evidence = []] = reader.getColumnsJS() as [string[]?, string[]?]
      for (let i = 0; i < ids.length; i++) nodes.set(ids[i], {id: ids[i], evidence: evidence[i].split(',')})
    }
    return {roots: [...roots].sort(), nodes: [...nodes.values()].sort((a, b) => (a.id < b.id ? -1 : 1))}
  }

  async sourceRetractions(sources: readonly string[], until?: string): Promise<Retract[]> {
    const out: Retract[] = []
    for (let i = 0; i < sources.length; i += CHUNK) {
      const part = sources.slice(i, i + CHUNK)
      const params: Param[] = [...part]
      let sql = `SELECT ${COLS} FROM records WHERE kind = 'retract' AND target IS NULL AND source IN (${part.map(() => '?').join(',')})`
      if (until !== undefined) {
        sql += ' AND hlc <= ?'
        params.push(until)
      }
      for (const r of await this.strings(sql, params)) out.push(toSealed(rowOf(r)).record as Retract)
    }
    return out.sort(compareRecords)
  }

  /**
   * The most assertions one range of the contested scan reads and sorts at once (see contested):
   * ranges hold whole pairs, so one pair with more still makes a range of its own.
   */
  private contestedRange = 150_000

  /**
   * Contested pairs a range of (subject, predicate) keys at a time, each range sorted on its own
   * (the pairs' order does not matter, only that each pair's rows come together), through the
   * lean reader. One query sorting every contested assertion, canonical text included, read
   * through the full API's row objects, had `steme conflicts` peak at ~1.5 GiB on a 1M-record
   * store whatever its --limit; in ranges it peaks at ~0.6 GiB, most of it DuckDB's cache of the
   * file. The pairs are counted a range at a time too: one DISTINCT over the whole store holds
   * every pair's key (~90 MB per million pairs).
   */
  async contested(opts: {until?: string; batch?: number} = {}): Promise<ContestedPairs> {
    const scope = opts.until === undefined ? '' : ' AND hlc <= ?'
    const params: Param[] = opts.until === undefined ? [] : [opts.until]
    const db = this.db
    let ranges: PairRange[]
    let pairs = 0
    // The ranges and the count on one snapshot; the rows on another (a connection of their own,
    // as scan has: the consumer may take long between batches). The ranges cover every key
    // whatever the snapshot, so a write in between only moves where they split.
    const conn = await duck.connect(db)
    try {
      await queryStrings(conn, 'BEGIN TRANSACTION')
      ranges = await this.pairRanges(conn, scope, params)
      // Keys with a NULL column (a damaged row) are in no bounded range; one DISTINCT counts them all.
      const wheres = ranges.length > 1 ? [...ranges.map(pairRangeWhere), [' AND (subject IS NULL OR predicate IS NULL)', []] as [string, Param[]]] : [pairRangeWhere(ranges[0])]
      for (const [w, p] of wheres) {
        const [[n]] = await queryStrings(conn, `SELECT count(*)::VARCHAR FROM (SELECT DISTINCT subject, predicate FROM records WHERE kind = 'assertion'${scope}${w})`, [...params, ...p])
        pairs += Number(n)
      }
      await queryStrings(conn, 'COMMIT')
    } finally {
      duck.disconnect_sync(conn)
    }
    const value = valueTextSql('canonical')
    // Per superseded id, the pairs of its superseders (supersedes edges are few next to the
    // records): how many, and one of them. With more than one, some pair is not the candidate's.
    // A correlated EXISTS here cost DuckDB a hash table over every candidate (~400 MiB on 1M).
    // What votes and retractions target is an IN (a mark join, whose table is the targets'):
    // as a LEFT JOIN, DuckDB took the targets for the bigger side and hashed the candidates,
    // canonical text and all (~25% of each range's time). The flags come as one number (1:
    // targeted, 2: superseded elsewhere) for the lean reader.
    const sql = (w: string) => `WITH c AS (
        SELECT subject, predicate FROM records WHERE kind = 'assertion'${scope}${w}
        GROUP BY subject, predicate HAVING count(*) > 1 AND min(${value}) <> max(${value})),
      s AS (SELECT unhex(f.dst) AS sid, count(DISTINCT (x.subject, x.predicate)) AS n, min(x.subject) AS ss, min(x.predicate) AS sp
        FROM refs AS f JOIN records AS x ON x.id = f.src WHERE f.rel = 'supersedes' GROUP BY f.dst)
      SELECT r.id, r.canonical, r.subject, r.predicate,
        ((CASE WHEN r.id IN (SELECT unhex(target) FROM records WHERE kind IN ('vote', 'retract')) THEN 1 ELSE 0 END)
          + (CASE WHEN s.sid IS NOT NULL AND (s.n > 1 OR s.ss <> r.subject OR s.sp <> r.predicate) THEN 2 ELSE 0 END))::BIGINT AS flags
      FROM (SELECT * FROM records SEMI JOIN c USING (subject, predicate) WHERE kind = 'assertion'${scope}${w}) AS r
      LEFT JOIN s ON s.sid = r.id
      ORDER BY r.subject, r.predicate`
    async function* rows(): AsyncIterable<Array<{run: string; record: Assertion; targeted: boolean; supersededElsewhere: boolean}>> {
      const conn = await duck.connect(db)
      let open = false
      try {
        // One snapshot for every range.
        await queryStrings(conn, 'BEGIN TRANSACTION')
        open = true
        for (const range of ranges) {
          const [w, p] = pairRangeWhere(range)
          for await (const chunk of streamRows(conn, sql(w), [...params, ...p, ...params, ...p])) {
            yield chunk.map((r) => {
              // Without its signature (Assertion's may be left out): nothing here checks it again.
              const record = parseStored(r[1] as string, r[0] as string) as Assertion
              record.id = r[0] as string
              const flags = r[4] as number
              return {run: `${r[2]}\u0000${r[3]}`, record, targeted: (flags & 1) !== 0, supersededElsewhere: (flags & 2) !== 0}
            })
          }
        }
      } finally {
        if (open) await queryStrings(conn, 'COMMIT').catch(() => undefined)
        duck.disconnect_sync(conn)
      }
    }
    return {pairs, batches: contestedBatches(rows(), opts.batch ?? 2048, {runsContested: true})}
  }

  /**
   * Consecutive ranges of (subject, predicate) keys in DuckDB's order, open below and above at
   * the ends, of about contestedRange assertions in scope each: the bounds are evenly spaced keys
   * of a sample of those assertions (reservoir sampling: memory for the sample alone), sorted by
   * DuckDB itself so that they split the keys as its comparisons do. A bound is a whole key, so
   * no pair straddles two ranges, and a subject with many predicates may span several.
   */
  private async pairRanges(conn: Bindings.Connection, scope: string, params: readonly Param[]): Promise<PairRange[]> {
    const [[total]] = await queryStrings(conn, `SELECT count(*)::VARCHAR FROM records WHERE kind = 'assertion'${scope}`, params)
    const k = Math.ceil(Number(total) / this.contestedRange)
    if (!(k > 1)) return [{}]
    const size = Math.min(Number(total), k * SAMPLE_PER_RANGE)
    const sample = await queryStrings(
      conn,
      `SELECT subject, predicate FROM (SELECT subject, predicate FROM records WHERE kind = 'assertion'${scope} AND subject IS NOT NULL AND predicate IS NOT NULL)
       USING SAMPLE reservoir(${size} ROWS) REPEATABLE (1) ORDER BY subject, predicate`,
      params,
    )
    const bounds: Array<[string, string]> = []
    for (let j = 1; j < k && sample.length; j++) {
      const [s, p] = sample[Math.floor((j * sample.length) / k)] as [string, string]
      const last = bounds.at(-1)
      if (!last || last[0] !== s || last[1] !== p) bounds.push([s, p])
    }
    if (bounds.length === 0) return [{}]
    return [{to: bounds[0]}, ...bounds.slice(1).map((to, i) => ({from: bounds[i], to})), {from: bounds.at(-1)}]
  }

  /**
   * The most records one range of a scan in (hlc, id) order sorts at once where the stamps allow
   * (see scan and scanRanges): about 55 MiB of DuckDB sort memory, where one sort of a 1M-record
   * store held ~500 MiB before its first row. A store stored far from clock order (records
   * synced in late) costs a read of the whole hlc column per range (~25 ms on 1M records).
   */
  private scanRange = 150_000

  /**
   * The records a bounded scan reads by row id in one query (see fetchInOrder). 10 pages of
   * 20,000 at once peaked at ~250 MiB with 512, ~290 with 1,024 and ~380 with 2,048 on a
   * 100k-record store (~365 with each on 1M; one run each); fewer cost more queries, ~2-5 ms each.
   */
  private fetchRows = 1024

  /**
   * The largest limit DuckDB sorts as a top-N whatever the store's size, keeping only the first
   * `limit` keys as it reads (above it, and above 0.7% of the rows it expects, it sorts them all):
   * a bounded scan within it sorts its row ids in one query, with no ranges to plan.
   */
  private topNMax = 5000

  async *scan(opts: ScanOptions = {}): AsyncIterable<Scanned[]> {
    const where: string[] = []
    const params: DuckDBValue[] = []
    if (opts.subject !== undefined) {
      where.push('subject = ?')
      params.push(opts.subject)
    }
    if (opts.predicate !== undefined) {
      where.push('predicate = ?')
      params.push(opts.predicate)
    }
    if (opts.kinds) {
      where.push(`kind IN (${opts.kinds.map(() => '?').join(',')})`)
      params.push(...opts.kinds)
    }
    if (opts.since !== undefined) {
      where.push('hlc > ?')
      params.push(opts.since)
    }
    if (opts.until !== undefined) {
      where.push('hlc <= ?')
      params.push(opts.until)
    }
    if (opts.after !== undefined) {
      // The plain bound lets DuckDB skip row groups by their hlc range; ids are BLOBs, compared
      // byte by byte, which is the order of their lowercase hex.
      where.push('hlc >= ? AND (hlc > ? OR id > unhex(?))')
      params.push(opts.after.hlc, opts.after.hlc, opts.after.id)
    }
    // With columns, each record's edges come along, gathered from refs by a hash join.
    const from = opts.columns ? `records LEFT JOIN (SELECT src, string_agg(rel || ':' || dst, ',') AS edges FROM refs GROUP BY src) AS e ON e.src = records.id` : 'records'
    const select = `SELECT ${HEX_COLS}${opts.columns ? ', kind, agent, hlc, subject, predicate, target, source, edges' : ''} FROM ${from}`
    // A second connection, so a long scan does not hold up writes queued on the main one.
    const conn = await this.instance.connect()
    let open = false
    try {
      // A sort of the whole store holds all of it in memory before the first row comes. Without a
      // subject (whose rows an index finds), the store is read in consecutive ranges of the hlc
      // column, of at most scanRange records each, each sorted on its own: the rows come in the
      // same order as from one sort. One transaction: every range reads the same snapshot (and
      // the same row ids). In any order (fsck), one plain scan.
      //
      // A bounded scan (a page of the log) sorts only row ids, and then reads the records by row id
      // in that order, fetchRows at a time (see fetchInOrder): a query streaming 20,000 records,
      // sorted or not, holds about all of them until it ends. Ten such pages at once took a bare
      // process from 84 to ~430-500 MiB (medians on 100k and 1M records); fetched so, ~300-360
      // MiB, in ~2-15% more time. A page within DuckDB's top-N (topNMax) sorts its row ids in one
      // query, with no ranges to plan: planning reads the hlc column of every record the scan
      // could reach (~30 ms on 1M records). Unbounded scans read sorted ranges whole: fetched by
      // row id, an export of 1M records took ~11 s instead of ~6.5.
      const size = opts.batch ?? 2048
      let left = opts.limit === undefined ? Infinity : Math.max(0, Math.floor(opts.limit))
      const inOrder = opts.subject === undefined && !opts.anyOrder
      const byRowId = inOrder && left !== Infinity && !opts.columns
      let ranges: AsyncIterable<ScanRange> | ScanRange[] = [{}]
      if (inOrder) {
        await conn.run('BEGIN TRANSACTION')
        open = true
        if (!byRowId || left > this.topNMax) ranges = this.scanRanges(conn, where, params)
      }
      const topN = Array.isArray(ranges)
      let buf: Scanned[] = []
      const push = (sealed: Scanned): Scanned[] | undefined => {
        buf.push(sealed)
        left--
        if (buf.length < size) return undefined
        const full = buf
        buf = []
        return full
      }
      for await (const range of ranges) {
        if (left === 0) break
        const [w, p] = rangeWhere(range, where, params)
        const cond = w.length ? ' WHERE ' + w.join(' AND ') : ''
        const limit = left !== Infinity ? ` LIMIT ${left}` : ''
        if (byRowId) {
          // A top-N over the whole scan first finds the limit-th stamp from the hlc column alone, so
          // that ids are read only where the stamps are at or below it (on 1M records, ~9 MiB of
          // DuckDB's cache instead of ~45).
          const order = topN
            ? `SELECT rowid FROM records WHERE ${[...w, `hlc <= (SELECT max(hlc) FROM (SELECT hlc FROM records${cond} ORDER BY hlc${limit}))`].join(' AND ')} ORDER BY hlc, id${limit}`
            : `SELECT rowid FROM records${cond} ORDER BY hlc, id${limit}`
          for await (const rows of this.fetchInOrder(conn, order, topN ? [...p, ...p] : p)) {
            for (const r of rows) {
              const full = push(scannedRow(r, opts.damaged))
              if (full) yield full
            }
          }
          continue
        }
        const sql = `${select}${cond}${opts.anyOrder ? '' : ' ORDER BY hlc, id'}${limit}`
        const result = await conn.stream(sql, p)
        for await (const rows of result.yieldRowObjectJs()) {
          for (const r of rows) {
            const sealed = scannedRow(r as unknown as Row, opts.damaged)
            if (opts.columns && sealed.damaged === undefined) {
              const c = r as unknown as Omit<TypedColumns, 'refs'> & {edges: string | null}
              const stored = {kind: c.kind, agent: c.agent, hlc: c.hlc, subject: c.subject, predicate: c.predicate, target: c.target, source: c.source, refs: c.edges === null ? '' : refsText(c.edges.split(','))}
              const mismatches = columnMismatches(stored, sealed.record)
              if (mismatches) sealed.mismatches = mismatches
            }
            const full = push(sealed)
            if (full) yield full
          }
        }
      }
      if (buf.length) yield buf
    } finally {
      if (open) await conn.run('COMMIT').catch(() => undefined)
      conn.closeSync()
    }
  }

  /**
   * The records whose row ids `order` (a query of row ids alone) gives, in its order: all the ids
   * first (the scan's transaction keeps them valid), then the records fetchRows at a time by row
   * id, put back in that order. The bounds on rowid let DuckDB skip the row groups outside; ids
   * that fill their span (a store kept in about clock order) need no list to test rows against.
   */
  private async *fetchInOrder(conn: DuckDBConnection, order: string, params: readonly DuckDBValue[]): AsyncIterable<Row[]> {
    const ids: number[] = []
    const sorted = await conn.stream(order, params as DuckDBValue[])
    for (let chunk = await sorted.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await sorted.fetchChunk()) {
      for (const v of chunk.getColumnValues(0)) ids.push(Number(v))
    }
    const {listValue, LIST, BIGINT} = api()
    const select = `SELECT rowid AS r, ${HEX_COLS} FROM records WHERE rowid BETWEEN ? AND ?`
    for (let j = 0; j < ids.length; j += this.fetchRows) {
      const part = ids.slice(j, j + this.fetchRows)
      const at = new Map<number, number>()
      let lo = part[0]
      let hi = part[0]
      part.forEach((r, k) => {
        at.set(r, k)
        if (r < lo) lo = r
        if (r > hi) hi = r
      })
      const fetched =
        hi - lo + 1 === part.length
          ? await conn.stream(select, [BigInt(lo), BigInt(hi)], [BIGINT, BIGINT])
          : await conn.stream(`${select} AND list_contains(?, rowid)`, [BigInt(lo), BigInt(hi), listValue(part.map(BigInt))], [BIGINT, BIGINT, LIST(BIGINT)])
      const rows = await fetched.getRowObjectsJS()
      if (rows.length !== part.length) throw new Error(`a scan of ${this.location} found ${rows.length} of ${part.length} records by row id`)
      const out = new Array<Row>(part.length)
      for (const r of rows) out[at.get(Number(r.r))!] = r as unknown as Row
      yield out
    }
  }

  /**
   * Consecutive ranges of the hlc column, with open ends first and last, as the scan reaches
   * them. The scan's rows grouped by the first 11 characters of their stamp (a sync bucket, ~17
   * minutes) give the counts; groups merge while they fit, and a group too big alone is split by
   * longer prefixes (4 s, then 1 ms, then whole stamps). Each range also carries the span of row
   * ids its rows lie in: DuckDB skips the row groups outside it, where a filter on these strings
   * skips none (it keeps only an 8-byte prefix of their minimum and maximum), so a store stored
   * in about clock order reads each range from its own row groups. The first range is small,
   * so the first rows come at once, and each next one twice as big up to scanRange. Every row
   * falls in one group, a row whose hlc column is no stamp included.
   */
  private async *scanRanges(conn: DuckDBConnection, where: readonly string[], params: readonly DuckDBValue[]): AsyncIterable<ScanRange> {
    let target = Math.min(FIRST_RANGE, this.scanRange)
    const max = this.scanRange
    type Group = {start: string; n: number; rows: [number, number]}
    const LEVELS = [11, 13, 16, 21]
    const groups = async (level: number, within?: ScanRange): Promise<Group[]> => {
      const [w, p] = rangeWhere(within ?? {}, where, params)
      const sql = `SELECT substr(hlc, 1, ${LEVELS[level]}) AS p, count(*) AS n, min(rowid) AS lo, max(rowid) AS hi FROM records${w.length ? ' WHERE ' + w.join(' AND ') : ''} GROUP BY 1 ORDER BY 1`
      return (await conn.runAndReadAll(sql, p)).getRows().map(([prefix, n, lo, hi]) => ({start: String(prefix), n: Number(n), rows: [Number(lo), Number(hi)]}))
    }
    // Every row of a later group sorts at or above its prefix, every row of an earlier one below
    // it: the prefixes are range bounds.
    async function* leaves(g: Group, end: string | undefined, level: number): AsyncIterable<Group> {
      if (g.n <= target || level + 1 >= LEVELS.length) return yield g
      const subs = await groups(level + 1, {from: g.start, to: end, rows: g.rows})
      if (subs.length < 2) return yield g
      for (let j = 0; j < subs.length; j++) yield* leaves(subs[j], subs[j + 1]?.start ?? end, level + 1)
    }
    const top = await groups(0)
    let range: ScanRange | undefined
    let first = true
    for (let i = 0; i < top.length; i++) {
      for await (const g of leaves(top[i], top[i + 1]?.start, 0)) {
        if (range && range.n! + g.n > target) {
          yield {...range, to: g.start}
          range = undefined
          target = Math.min(max, target * 2)
        }
        if (range) range = {...range, n: range.n! + g.n, rows: [Math.min(range.rows![0], g.rows[0]), Math.max(range.rows![1], g.rows[1])]}
        else range = {from: first ? undefined : g.start, n: g.n, rows: g.rows}
        first = false
      }
    }
    // No rows at all: one range, which finds none.
    yield range ?? {}
  }

  derivedProblems(): Promise<DerivedProblem[]> {
    return derived.derivedProblems(this.reader)
  }

  repairDerived(records: readonly SignedRecord[]): Promise<DerivedRepair> {
    if (this.readOnly) return Promise.reject(new UserError(`${this.location} is open read-only`, {code: 'locked'}))
    return this.exclusive(async () => {
      this.dirty = true
      await this.conn.run('BEGIN TRANSACTION')
      try {
        const done = await derived.repairDerived(this.conn, records)
        await this.conn.run('COMMIT')
        this.committed()
        return done
      } catch (e) {
        await this.conn.run('ROLLBACK').catch(() => undefined)
        throw e
      } finally {
        // The in-memory copies of targets and edges were built from the rows as they were.
        this.pointed = undefined
        this.targeted = undefined
        this.referencingCalls = 0
      }
    })
  }

  async stats(): Promise<StoreStats> {
    const kinds = await this.rows<{kind: Kind; n: number}>(`SELECT kind, count(*)::INTEGER AS n FROM records GROUP BY kind`)
    const byKind: Record<Kind, number> = {assertion: 0, vote: 0, retract: 0, epoch: 0, trust: 0}
    for (const k of kinds) byKind[k.kind] = k.n
    const [c] = await this.rows<{records: number; agents: number; subjects: number}>(
      `SELECT count(*)::INTEGER AS records, count(DISTINCT agent)::INTEGER AS agents, count(DISTINCT subject)::INTEGER AS subjects FROM records`,
    )
    let bytes: number | undefined
    try {
      bytes = statSync(this.location).size
    } catch {
      bytes = undefined
    }
    return {...c, byKind, bytes}
  }

  async getMeta(key: string): Promise<string | undefined> {
    const rows = await this.strings('SELECT value FROM meta WHERE key = ?', [key])
    return rows[0]?.[0] ?? undefined
  }

  async maxHlc(): Promise<string | undefined> {
    // Every writable open asks (the clock resumes above it). The newest bucket of the sync
    // table bounds the scan to the last row groups by their hlc min/max: ~10 ms on a 1M-record
    // store instead of ~50 cold. Without bucket rows the bound is '' and every record is read.
    const rows = await this.strings(`SELECT max(hlc) FROM records WHERE hlc >= coalesce((SELECT lpad(printf('%x', max(bucket)), 11, '0') FROM sync_buckets), '')`)
    return rows[0]?.[0] ?? undefined
  }

  setMeta(key: string, value: string): Promise<void> {
    if (this.readOnly) return Promise.reject(new UserError(`${this.location} is open read-only`, {code: 'locked'}))
    return this.exclusive(async () => {
      this.dirty = true
      await this.conn.run('INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value])
      this.reader.stale()
    })
  }

  async close(): Promise<void> {
    await this.writes
    this.reader.close()
    if (this.dirty) await queryStrings(this.raw, 'CHECKPOINT').catch(() => undefined)
    duck.disconnect_sync(this.raw)
    duck.close_sync(this.db)
  }
}

function openError(path: string, e: unknown, readOnly: boolean): UserError {
  const damaged = damagedStoreError(e)
  if (damaged) return damaged
  const msg = e instanceof Error ? e.message : String(e)
  // The file is there (openStore checked) but the system refused: not a missing store.
  if (/Read-only file system/i.test(msg) && !readOnly) return storeNotWritable(path, true, e)
  if (/Permission denied/i.test(msg)) {
    if (!readOnly) return storeNotWritable(path, false, e)
    return new UserError(`the store ${path} is not readable by this user`, {code: 'forbidden', exit: 1, hint: `get read permission on it (ls -l ${path}), or ask its owner for a copy`, cause: e})
  }
  if (/lock/i.test(msg)) {
    const holder = lockHolder(msg)
    const who = holder === undefined ? 'another steme process' : holder.steme ? `another steme process (${holder.text})` : `another process (${holder.text})`
    return new UserError(`the store ${path} is in use by ${who}`, {
      code: 'locked',
      exit: 1,
      hint:
        holder && !holder.steme
          ? 'DuckDB admits one process per store file: close the store in that program (a duckdb shell, a script), or wait for it to finish, and retry'
          : 'DuckDB admits one process per store file: wait for the other steme command to finish (or stop it) and retry; if it is `steme serve`, pass --remote <its URL>',
      cause: e,
    })
  }
  return new UserError(`cannot open the store ${path}: ${msg}`, {code: 'no_store', hint: 'check the path, or create a store with `steme init`', cause: e})
}

/**
 * Who holds a store's lock, from DuckDB's message ("Conflicting lock is held in /usr/bin/node
 * (PID 31126)"): the pid and, where /proc shows command lines, the steme command it runs (its
 * first word only: the rest may hold a token) or else the program's path.
 */
export function lockHolder(message: string, cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8')): {text: string; steme: boolean} | undefined {
  const m = /lock is held in (.*?) \(PID (\d+)\)/.exec(message)
  if (!m) return undefined
  const pid = Number(m[2])
  let argv: string[]
  try {
    argv = cmdline(pid).split('\0').filter((a) => a !== '')
  } catch {
    return {text: `pid ${pid}`, steme: false}
  }
  const script = argv.findIndex((a, i) => i > 0 && /(^|\/)(steme|bin\/run\.js)$/.test(a))
  if (script < 0) return {text: `pid ${pid}: ${m[1]}`, steme: false}
  // The first word that can be a command (a flag's value, such as a path, cannot).
  const command = argv.slice(script + 1).find((a) => /^[a-z][a-z-]*$/.test(a))
  return {text: `pid ${pid}: steme${command ? ` ${command}` : ''}`, steme: true}
}

/**
 * A set of id prefixes as a bitmap: bit k is set when some added id's first 7 hex digits, less
 * their last 2 bits, are k (2^26 bits, 8 MiB). Membership can be a false positive (another id
 * with the same prefix), never a false negative; a Set of prefix strings cost ~50 µs per query
 * in hashing and string building, and up to ~80 MiB.
 */
export class PrefixBits {
  private readonly bits = new Uint32Array(1 << 21)
  private static key(id: string): number {
    // Not hex (no stored id or key is): the same key on add and on lookup, so still no false negative.
    const n = parseInt(id.slice(0, 7), 16)
    return Number.isNaN(n) ? 0 : (n >>> 2) & 0x3ffffff
  }

  add(id: string): void {
    const k = PrefixBits.key(id)
    this.bits[k >>> 5] |= 1 << (k & 31)
  }

  has(id: string): boolean {
    const k = PrefixBits.key(id)
    return (this.bits[k >>> 5] & (1 << (k & 31))) !== 0
  }
}

/** The pointed-at prefilter: ids that records target, and ids that evidence or supersedes edges point at. */
type Pointed = {targets: PrefixBits; edges: PrefixBits}

/** Add a row to an in-memory copy of the records with a target; false once the copy is over its bound. */
function holdTargeted(held: {byTarget: Map<string, Row[]>; ids: Set<string>}, target: string, row: Row): boolean {
  if (held.ids.has(row.id)) return true
  if (held.ids.size >= TARGETED_MAX) return false
  held.ids.add(row.id)
  const list = held.byTarget.get(target)
  if (list) list.push(row)
  else held.byTarget.set(target, [row])
  return true
}

/**
 * A stored record as its wire line (core/seal.ts recordLine), built by DuckDB: one string to
 * decode per record instead of three, and no concatenation here (measured on 50k records,
 * 305-443 ms against 540-983 ms). substr and length count characters, so a body that is not
 * ASCII loses exactly its closing brace.
 */
const LINE = `substr(canonical, 1, length(canonical) - 1) || ',"id":"' || lower(hex(id)) || '","sig":"' || lower(hex(sig)) || '"}'`

/** The id of a wire line (UTF-8): recordLine ends with `,"id":"<64>","sig":"<128>"}`. */
const lineId = (line: Uint8Array): string => Buffer.from(line.buffer, line.byteOffset, line.length).toString('latin1', line.length - 203, line.length - 139)

function appendRef(refs: DuckDBAppender, src: Uint8Array, dst: string, rel: string, pointed: Pointed | undefined): void {
  pointed?.edges.add(dst)
  refs.appendBlob(src)
  refs.appendVarchar(dst)
  refs.appendVarchar(rel)
  refs.endRow()
}

function appendNullable(app: DuckDBAppender, v: string | null): void {
  if (v === null) app.appendNull()
  else app.appendVarchar(v)
}

/**
 * Append one column batch to records (and its edges to refs), in the table's column order;
 * targets and edge ends go into the pointed-at prefilter when there is one.
 */
function appendColumns(app: DuckDBAppender, refs: DuckDBAppender, c: RecordColumns, pointed: Pointed | undefined): void {
  for (let i = 0; i < c.n; i++) {
    app.appendBlob(c.ids.subarray(i * 32, i * 32 + 32))
    app.appendVarchar(c.kind[i])
    app.appendVarchar(c.agent[i])
    app.appendVarchar(c.hlc[i])
    appendNullable(app, c.subject[i])
    appendNullable(app, c.predicate[i])
    appendNullable(app, c.target[i])
    if (c.target[i] !== null) pointed?.targets.add(c.target[i]!)
    appendNullable(app, c.source[i])
    app.appendVarchar(c.canonical[i])
    app.appendBlob(c.sigs.subarray(i * 64, i * 64 + 64))
    app.endRow()
  }
  const {row, dst, rel} = c.refs
  for (let j = 0; j < row.length; j++) appendRef(refs, c.ids.subarray(row[j] * 32, row[j] * 32 + 32), dst[j], rel[j], pointed)
}

/** Per-bucket sums of several batches added up. */
function mergeSums(all: readonly RecordColumns['sums'][]): RecordColumns['sums'] {
  if (all.length === 1) return all[0]
  const out: RecordColumns['sums'] = new Map()
  for (const sums of all) {
    for (const [b, s] of sums) {
      const acc = out.get(b)
      if (!acc) {
        out.set(b, [...s])
        continue
      }
      acc[0] += s[0]
      acc[1] += s[1]
      acc[2] += s[2]
      acc[3] += s[3]
      acc[4] += s[4]
    }
  }
  return out
}

/** Drop an appender's buffered rows and close it, so garbage collection cannot flush them later. */
function discard(a: DuckDBAppender): void {
  try {
    a.clear()
    a.closeSync()
  } catch {
    // Already closed, or the connection is gone: nothing left to flush.
  }
}
