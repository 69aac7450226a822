/** The storage interface every adapter implements (DuckDB default, memory reference, PostgreSQL). */
import type {Assertion, Kind, Retract, SignedRecord} from './record.js'
import type {Sealed} from './seal.js'
import {canonicalize} from './canonical.js'

export interface InsertResult {
  /** Records newly stored. */
  added: number
  /** Records that were already there (or repeated within the batch): stored nothing. */
  present: number
}

export interface ScanOptions {
  subject?: string
  /** Only assertions with this predicate. */
  predicate?: string
  kinds?: Kind[]
  /** Only records with hlc strictly above this stamp. */
  since?: string
  /**
   * Only records strictly after this position in (hlc, id) order: a page of a log goes on after
   * the last record of the one before, exactly, however many records share its stamp.
   */
  after?: LogPosition
  /** Only records with hlc at or below this stamp. */
  until?: string
  /** Rows per yielded batch. */
  batch?: number
  limit?: number
  /**
   * Also read the typed columns stored beside each record and attach those that disagree with
   * the record (see Scanned): what fsck checks. Adapters that keep no derived columns attach none.
   */
  columns?: boolean
  /**
   * A row whose stored text is no record comes marked `damaged` (see Scanned), and the scan goes
   * on, rather than ending with a DamagedRecordError as every other read does: for readers that
   * report each bad record and carry on (fsck, migrate).
   */
  damaged?: boolean
  /**
   * The records may come in any order (each still exactly once), for readers that need every
   * record but no order (fsck): adapters may then skip sorting the store.
   */
  anyOrder?: boolean
}

/**
 * A record from scan, with the stored typed columns that disagree with it when asked
 * (ScanOptions.columns). `damaged` (only with ScanOptions.damaged): what is wrong with a row whose
 * stored text is no record (see storedTextProblem); its `record` then holds only the row's id and
 * sig, and no columns are compared.
 */
export type Scanned = Sealed & {mismatches?: ColumnMismatch[]; damaged?: string}

/**
 * The columns adapters keep beside a record's canonical text so queries find it by index; each
 * is derived from the record alone. `refs` stands for the record's evidence and supersedes edges
 * (the refs table), as sorted `rel:dst` entries joined by commas.
 */
export interface TypedColumns {
  kind: string
  agent: string
  hlc: string
  subject: string | null
  predicate: string | null
  target: string | null
  source: string | null
  refs: string
}

export interface ColumnMismatch {
  column: keyof TypedColumns
  stored: string | null
  /** What the record says the column holds. */
  expected: string | null
}

/** The typed columns of a record, as every adapter's insert derives them. */
export function typedColumns(r: SignedRecord): TypedColumns {
  const a = r.kind === 'assertion' ? r : undefined
  return {
    kind: r.kind,
    agent: r.agent,
    hlc: r.hlc,
    subject: a ? a.subject : null,
    predicate: a ? a.predicate : null,
    target: r.kind === 'vote' || r.kind === 'trust' || r.kind === 'retract' ? (r.target ?? null) : null,
    source: r.kind === 'assertion' || r.kind === 'retract' ? (r.source ?? null) : null,
    refs: a && (a.evidence?.length || a.supersedes?.length) ? refsText(recordEdges(a).map((e) => `${e.rel}:${e.dst}`)) : '',
  }
}

/** The rows of the refs table a record has: one per entry of its evidence, then of its supersedes. */
export function recordEdges(r: SignedRecord): Array<{rel: 'evidence' | 'supersedes'; dst: string}> {
  if (r.kind !== 'assertion') return []
  return [...(r.evidence ?? []).map((dst) => ({rel: 'evidence' as const, dst})), ...(r.supersedes ?? []).map((dst) => ({rel: 'supersedes' as const, dst}))]
}

/** A record's edges in the form of TypedColumns.refs, from `rel:dst` entries in any order. */
export const refsText = (edges: readonly string[]): string => (edges.length < 2 ? (edges[0] ?? '') : [...edges].sort().join(','))

const COLUMNS: ReadonlyArray<keyof TypedColumns> = ['kind', 'agent', 'hlc', 'subject', 'predicate', 'target', 'source', 'refs']

/**
 * Where stored columns disagree with the record's own (undefined when none do). `encode` maps the
 * record's text values the way the adapter stores them (PostgreSQL text cannot hold U+0000).
 */
export function columnMismatches(stored: TypedColumns, record: SignedRecord, encode?: (s: string) => string): ColumnMismatch[] | undefined {
  const want = typedColumns(record)
  let out: ColumnMismatch[] | undefined
  for (const column of COLUMNS) {
    const w = want[column]
    const expected = w === null || !encode ? w : encode(w)
    if (stored[column] !== expected) (out ??= []).push({column, stored: stored[column], expected})
  }
  return out
}

/** A sync bucket's count of records and sum of their ids (mod 2^256, as 64 hex digits), as stored or as the records give it. */
export interface BucketTally {
  count: number
  sum: string
}

/**
 * A row of a table derived from the records that no record accounts for: what fsck reports
 * beside bad records. `refs`: edges stored from `src`, which is not a stored record (a record's
 * own edges are checked with its typed columns, see TypedColumns.refs). `sync_buckets`: a bucket
 * whose stored count or id sum differs from the records stamped in it (`null`: no row, or no
 * record in the bucket).
 */
export type DerivedProblem =
  | {table: 'refs'; src: string; edges: string[]}
  | {table: 'sync_buckets'; bucket: number; stored: BucketTally | null; expected: BucketTally | null}

/** What Store.repairDerived rewrote, all in one transaction. */
export interface DerivedRepair {
  /** Records whose typed columns and refs rows were rewritten from the record. */
  records: number
  /** refs rows removed because no stored record has them as its edges. */
  refsRemoved: number
  /** sync_buckets rows written or removed. */
  buckets: number
}

/** One time bucket's share of the sync fingerprint (see core/bucket.ts and docs/sync-protocol.md). */
export interface BucketSum {
  bucket: number
  count: number
  /** Sum of the ids in the bucket as 256-bit big-endian integers, mod 2^256. */
  sum: bigint
}

export interface BucketSpan {
  from: number
  to: number
}

export interface BucketId {
  bucket: number
  id: string
}

/** One assertion in the evidence graph: its id and everything it was derived from. */
export interface EvidenceNode {
  id: string
  evidence: string[]
}

/** Where a retraction cascade starts: assertions by id, or every assertion citing a source. */
export interface CascadeSeed {
  ids?: readonly string[]
  sources?: readonly string[]
}

export interface CascadeGraph {
  /** The seed assertions found (ids given that are stored assertions, and those citing the sources). */
  roots: string[]
  /** Every assertion that transitively cites a root through `evidence`, with its full evidence list. */
  nodes: EvidenceNode[]
}

/** What `steme conflicts` reads: see Store.contested. */
export interface ContestedPairs {
  /** Distinct (subject, predicate) pairs among the assertions in scope, contested or not. */
  pairs: number
  /**
   * The assertions in scope of every pair holding more than one distinct value (by canonical
   * JSON), one array per pair, each in (hlc, id) order, the pairs in no particular order;
   * batches hold whole pairs, about `batch` assertions each. `sig` may be left out.
   */
  batches: AsyncIterable<ContestedBatch>
}

export interface ContestedBatch {
  groups: Assertion[][]
  /**
   * The ids among these assertions that some vote or retraction names as its target (whatever
   * its hlc): the others need no lookup of what points at them.
   */
  targeted: Set<string>
  /**
   * The ids among these assertions that an assertion about another (subject, predicate) names in
   * its `supersedes` (whatever its hlc): supersession within a pair is in the pair itself, so
   * only these need a lookup of their superseders. Where a database cannot tell two pairs apart
   * (NUL in PostgreSQL text) it flags the id: a needless lookup, never a missed one.
   */
  supersededElsewhere: Set<string>
}

export interface StoreStats {
  records: number
  byKind: Record<Kind, number>
  agents: number
  subjects: number
  /** Bytes on disk, where the adapter can tell. */
  bytes?: number
}

/**
 * Validated records in columns, the form worker threads hand over for bulk loads: typed
 * arrays and flat string lists cross threads far cheaper than record objects, and an adapter
 * appends them without rebuilding anything.
 */
export interface RecordColumns {
  n: number
  /** Raw ids, 32 bytes a row, and signatures, 64 bytes a row. */
  ids: Uint8Array
  sigs: Uint8Array
  kind: Kind[]
  agent: string[]
  hlc: string[]
  /** Assertions: subject and predicate; votes, retractions, trust: target; assertions, retractions: source. */
  subject: (string | null)[]
  predicate: (string | null)[]
  target: (string | null)[]
  source: (string | null)[]
  canonical: string[]
  /** evidence and supersedes edges: the row they start from, the id they point at. */
  refs: {row: number[]; dst: string[]; rel: ('evidence' | 'supersedes')[]}
  /** Per sync bucket: count and per-limb sums of the rows' ids (what sync_buckets keeps). */
  sums: Map<number, [number, bigint, bigint, bigint, bigint]>
}

/**
 * A grow-only set of validated records. Adapters never validate: callers hand them records
 * that passed checkRecord/seal. Every method is safe to call concurrently within a process.
 */
export interface Store {
  /** Where the store lives, safe to print (no passwords). */
  readonly location: string
  /** Store records; idempotent (a record already present, or repeated in the batch, is counted once as present). */
  insert(batch: readonly Sealed[]): Promise<InsertResult>
  /** Bulk load, same contract as insert (optional: callers fall back to insert with `columnsToSealed`). */
  insertColumns?(parts: readonly RecordColumns[]): Promise<InsertResult>
  /** Records by id; ids not stored are simply absent from the result. */
  get(ids: readonly string[]): Promise<Sealed[]>
  /** Which of these ids are stored. */
  has(ids: readonly string[]): Promise<Set<string>>
  /** Up to `limit` stored ids that start with this lowercase hex prefix (for short ids typed by people), in order. */
  idsWithPrefix(prefix: string, limit: number): Promise<string[]>
  /** Assertions about a subject (and predicate), with hlc at or below `until` when given, in (hlc, id) order; `sig` may be left out. */
  assertions(subject: string, predicate?: string, until?: string): Promise<Assertion[]>
  /** Records that point at any of these ids: votes, retractions and trust by target, assertions by evidence or supersedes. */
  referencing(ids: readonly string[]): Promise<SignedRecord[]>
  /** Every record of these kinds (the small kinds: epochs, trust, retractions by source). */
  ofKinds(kinds: readonly Kind[], until?: string): Promise<SignedRecord[]>
  /** Assertions these ids were derived from, transitively through `evidence` (the ids themselves only if one derives from another). */
  lineage(ids: readonly string[], until?: string): Promise<Assertion[]>
  /** The evidence graph below a seed, for the retraction cascade: one bulk walk, not one query per record. */
  cascadeGraph(seed: CascadeSeed, until?: string): Promise<CascadeGraph>
  /** Retractions of these sources (retract records with `source`), with hlc at or below `until` when given. */
  sourceRetractions(sources: readonly string[], until?: string): Promise<Retract[]>
  /**
   * The contested (subject, predicate) pairs with their assertions, hlc at or below `until` when
   * given: the store finds the pairs with more than one value itself, so the caller holds one
   * batch of pairs at a time, never the whole store; adapters should not hold it either (DuckDB
   * reads and sorts it a range of keys at a time, PostgreSQL through a cursor).
   */
  contested(opts?: {until?: string; batch?: number}): Promise<ContestedPairs>
  /** All matching records in (hlc, id) order (any order with `anyOrder`), in batches. */
  scan(opts?: ScanOptions): AsyncIterable<Scanned[]>
  stats(): Promise<StoreStats>
  /** The highest hlc stored (for the clock after a crash), or undefined when empty. */
  maxHlc(): Promise<string | undefined>
  /**
   * Sync: count and sum of ids for every non-empty bucket in [from, to], ascending. Adapters
   * keep these up to date in the same transaction as insert, so this is a read of small rows.
   */
  bucketSums(from: number, to: number): Promise<BucketSum[]>
  /**
   * Sync: the ids of the records in the given bucket spans (each [from, to] inclusive), in
   * (bucket, id) order. Spans come sorted and disjoint; one call answers many, so a message
   * that checks hundreds of small ranges costs one query.
   */
  bucketIds(spans: readonly BucketSpan[]): Promise<BucketId[]>
  /**
   * Sync (optional): the same ids as `bucketIds`, one list per non-empty bucket, buckets
   * ascending, each list the bucket's ids as consecutive 32-byte entries in no particular order
   * (the caller sorts the few buckets it splits by id prefix). A large sync reads about a
   * million ids per side: an object or a string per id, or a sort of every bucket, costs more
   * than the read. Callers fall back to `bucketIds`.
   */
  bucketIdLists?(spans: readonly BucketSpan[]): Promise<{bucket: number; ids: Uint8Array}[]>
  /**
   * Sync (optional): records by id as NDJSON lines (`recordLine` of the stored canonical body,
   * id and sig) in UTF-8, without parsing them or making strings of them (they only go on to
   * the wire); ids not stored are absent. Callers fall back to `get`.
   */
  recordLines?(ids: readonly string[]): Promise<Uint8Array[]>
  /**
   * Sync (optional): the same for ids said to lie in buckets `from`..`to`, read by scanning that
   * stretch of the store. Ids not found there are looked up by id, so the answer is always that
   * of recordLines; the span only makes it cheaper. Callers fall back to recordLines.
   */
  recordLinesIn?(ids: readonly string[], from: number, to: number): Promise<Uint8Array[]>
  /**
   * fsck (optional): the rows of derived tables that no record accounts for, each table read in
   * one consistent snapshot: refs rows from ids that are not stored, and sync_buckets rows that
   * differ from the count and id sum of the records in the bucket. Buckets follow the typed hlc
   * column, as sync reads them (scan with `columns` checks that column against each record).
   * Adapters that keep no derived tables leave it out.
   */
  derivedProblems?(): Promise<DerivedProblem[]>
  /**
   * fsck --repair (optional): in one transaction, rewrite the typed columns and refs rows of
   * these records from the records themselves, delete refs rows of ids not stored, then make
   * sync_buckets agree with the records. The records' canonical text, id and signature are never
   * written. Present exactly where derivedProblems is.
   */
  repairDerived?(records: readonly SignedRecord[]): Promise<DerivedRepair>
  getMeta(key: string): Promise<string | undefined>
  setMeta(key: string, value: string): Promise<void>
  close(): Promise<void>
  /**
   * A number that changes whenever the records may have changed, for caches of store-wide
   * derived data (trust scores, epochs). Only adapters that see every write (one writer
   * process, like DuckDB) implement it; without it callers recompute every time.
   */
  changeCounter?(): number
}

/** A place in the (hlc, id) order of records: a record's stamp and id. */
export interface LogPosition {
  hlc: string
  id: string
}

export const compareRecords = (a: {hlc: string; id: string}, b: {hlc: string; id: string}): number =>
  a.hlc < b.hlc ? -1 : a.hlc > b.hlc ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0

/**
 * Everything the given assertions stand on through `evidence`, one `get` per level of
 * derivation (lineages are shallow next to the store). Shared by adapters whose stores
 * answer `get` by index.
 */
export async function walkLineage(get: (ids: string[]) => Promise<Array<{record: SignedRecord | Assertion}>>, ids: readonly string[], until?: string): Promise<Assertion[]> {
  const found = new Map<string, Assertion>()
  const start = (await get([...ids])).map((s) => s.record).filter((r): r is Assertion => r.kind === 'assertion')
  let frontier = [...new Set(start.flatMap((a) => a.evidence ?? []))]
  while (frontier.length) {
    const next = new Set<string>()
    for (const {record: r} of await get(frontier.filter((id) => !found.has(id)))) {
      if (r.kind !== 'assertion' || (until !== undefined && r.hlc > until) || found.has(r.id)) continue
      found.set(r.id, r)
      for (const e of r.evidence ?? []) if (!found.has(e)) next.add(e)
    }
    frontier = [...next]
  }
  return [...found.values()].sort(compareRecords)
}

/**
 * Adapters' SQL for a contested pair: more than one distinct value text. The value is the last
 * member of an assertion's canonical (RFC 8785) encoding, and `,"value":` cannot occur before it
 * (strings escape their quotes; no earlier member holds objects with a "value" key), so the text
 * after its first occurrence is the value's canonical JSON plus the closing brace. Slicing costs
 * half of parsing the JSON.
 */
export const valueTextSql = (canonical: string): string => `substr(${canonical}, strpos(${canonical}, ',"value":') + 9)`

/**
 * Split rows of contested pairs into pairs and batches. `run` is the adapter's group key: rows
 * of one run come together. A run may merge pairs whose keys a database cannot tell apart (NUL
 * in PostgreSQL text), so each run is split by the records' own subject and predicate, and a
 * pair with a single value after all is dropped. With `runsContested` the adapter vouches that
 * each run holds more than one value (valueTextSql), so a run that is one pair is not checked
 * again: canonicalizing a million values cost ~0.25 s.
 */
export async function* contestedBatches(
  rows: AsyncIterable<Array<{run: string; record: Assertion; targeted?: boolean; supersededElsewhere?: boolean}>>,
  size: number,
  opts: {runsContested?: boolean} = {},
): AsyncIterable<ContestedBatch> {
  let out: Assertion[][] = []
  let targeted = new Set<string>()
  let supersededElsewhere = new Set<string>()
  let count = 0
  let run: string | undefined
  let pairs = new Map<string, Assertion[]>()
  const flush = () => {
    // A run the adapter found contested that is one pair is that pair: no need to look again.
    const known = opts.runsContested && pairs.size === 1
    for (const g of pairs.values()) {
      // Adapters need only keep a pair's rows together; the order within it is set here.
      g.sort(compareRecords)
      if (!known && new Set(g.map((a) => canonicalize(a.value))).size < 2) continue
      out.push(g)
      count += g.length
    }
    pairs = new Map()
  }
  for await (const batch of rows) {
    for (const r of batch) {
      if (r.run !== run) {
        flush()
        run = r.run
        if (count >= size) {
          yield {groups: out, targeted, supersededElsewhere}
          out = []
          targeted = new Set()
          supersededElsewhere = new Set()
          count = 0
        }
      }
      if (r.targeted) targeted.add(r.record.id)
      if (r.supersededElsewhere) supersededElsewhere.add(r.record.id)
      const k = `${r.record.subject}\u0000${r.record.predicate}`
      const g = pairs.get(k)
      if (g) g.push(r.record)
      else pairs.set(k, [r.record])
    }
  }
  flush()
  if (out.length) yield {groups: out, targeted, supersededElsewhere}
}

/** The records of column batches as Sealed, for adapters without a column path. */
export function columnsToSealed(parts: readonly RecordColumns[]): Sealed[] {
  const out: Sealed[] = []
  for (const c of parts) {
    for (let i = 0; i < c.n; i++) {
      const record = JSON.parse(c.canonical[i]) as SignedRecord
      record.id = hexOf(c.ids.subarray(i * 32, i * 32 + 32))
      record.sig = hexOf(c.sigs.subarray(i * 64, i * 64 + 64))
      out.push({record, canonical: c.canonical[i]})
    }
  }
  return out
}

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex')

/** The lowest and highest 32-byte ids with this hex prefix: a prefix search is a range over the id index. */
export function prefixRange(prefix: string): [Buffer, Buffer] {
  return [Buffer.from(prefix.padEnd(64, '0'), 'hex'), Buffer.from(prefix.padEnd(64, 'f'), 'hex')]
}
