/** A store on a PostgreSQL server (or a wire-compatible engine): many writer processes, bulk inserts through COPY. */
import pg from 'pg'
import {from as copyFrom} from 'pg-copy-streams'
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {UserError} from '../../core/errors.js'
import {shellWord} from '../../core/words.js'
import type {Assertion, Kind, Retract, SignedRecord} from '../../core/record.js'
import type {Sealed} from '../../core/seal.js'
import {bucketFloor, bucketOf, idValue, MAX_BUCKET} from '../../core/bucket.js'
import {columnMismatches, compareRecords, contestedBatches, refsText, type DerivedProblem, type DerivedRepair, type Scanned, type TypedColumns, valueTextSql, type ContestedPairs, type BucketId, type BucketSpan, type BucketSum, type CascadeGraph, type CascadeSeed, type InsertResult, type ScanOptions, type Store, type StoreStats, prefixRange, walkLineage} from '../../core/store.js'
import {copyRows, pgText, STAGE_COLUMNS} from './copy.js'
import {connectError, pgCode, RETRYABLE, storeError} from './errors.js'
import * as derived from './derived.js'
import {decodeStored, parseStored} from '../../core/stored.js'
import {MIGRATIONS, MOD, SCHEMA_VERSION} from './schema.js'
import {parsePgUrl} from './url.js'

type Row = {id: Buffer; canonical: string; sig: Buffer}

const COLS = 'id, canonical, sig'

function toSealed(row: Row): Sealed {
  return withIds(parseStored(row.canonical, row.id.toString('hex')), row)
}

function withIds(record: SignedRecord, row: Row): Sealed {
  record.id = row.id.toString('hex')
  record.sig = row.sig.toString('hex')
  return {record, canonical: row.canonical}
}

/** A scanned row: with `damaged` (ScanOptions.damaged), a row whose text is no record comes marked instead of throwing. */
function scannedRow(row: Row, damaged: boolean | undefined): Scanned {
  if (!damaged) return toSealed(row)
  const d = decodeStored(row.canonical)
  return d.record ? withIds(d.record, row) : {record: {id: row.id.toString('hex'), sig: row.sig?.toString('hex')} as SignedRecord, canonical: row.canonical, damaged: d.problem}
}

const idBuf = (hex: string) => Buffer.from(hex, 'hex')

/** A printed location (url.ts: its schema= parameter last, when there is one) naming another schema. */
const withSchema = (location: string, schema: string) => {
  const bare = location.replace(/[?&]schema=[^&]*$/, '')
  return `${bare}${bare.includes('?') ? '&' : '?'}schema=${schema}`
}

type StoredColumns = Omit<TypedColumns, 'refs'> & {edges: string[] | null}

/** A scanned row with its typed columns compared to the record, which they hold as pgText maps it. */
function checked(row: Row & StoredColumns, damaged: boolean | undefined): Scanned {
  const sealed = scannedRow(row, damaged)
  if (sealed.damaged !== undefined) return sealed
  const stored = {kind: row.kind, agent: row.agent, hlc: row.hlc, subject: row.subject, predicate: row.predicate, target: row.target, source: row.source, refs: refsText(row.edges ?? [])}
  const mismatches = columnMismatches(stored, sealed.record, pgText)
  if (mismatches) sealed.mismatches = mismatches
  return sealed
}

/** Array parameters are chunked so one statement never carries an unbounded list. */
const CHUNK = 1000
/** Attempts for a batch that hit a deadlock or serialization failure (the transaction rolled back whole). */
const ATTEMPTS = 5

// Staging tables: ON COMMIT DELETE ROWS keeps them empty between batches; creating them inside
// each insert transaction (a no-op once they exist) keeps inserts correct on whichever server
// connection a pooler hands out.
const STAGE = `
  CREATE TEMP TABLE IF NOT EXISTS steme_stage (id bytea, kind text, agent text, hlc text, subject text, predicate text,
    target text, source text, canonical text, sig bytea) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS steme_stage_refs (src bytea, dst text, rel text) ON COMMIT DELETE ROWS`

export interface PostgresOpenOptions {
  readOnly?: boolean
  /** Create the schema when the database has none (init, migrate --to). */
  create?: boolean
  /** Connections in the pool (default 4). */
  connections?: number
}

export class PostgresStore implements Store {
  private constructor(
    readonly location: string,
    private readonly pool: pg.Pool,
    /** The quoted schema name, for SQL. */
    private readonly s: string,
    readonly readOnly: boolean,
  ) {}

  static async open(url: string, opts: PostgresOpenOptions = {}): Promise<PostgresStore> {
    const target = parsePgUrl(url)
    const pool = new pg.Pool({
      connectionString: target.connectionString,
      max: opts.connections ?? 4,
      connectionTimeoutMillis: 10_000,
      application_name: 'steme',
    })
    // An idle connection dropped by the server must not crash the process; the next query reconnects.
    pool.on('error', () => undefined)
    // Nor one checked out for a transaction (insert, scan, repair, opening): the pool listens only
    // to idle clients, and a client whose socket dies emits 'error' besides failing its query,
    // which with no listener is an uncaught exception. The query's own error is what is reported.
    pool.on('connect', (client) => client.on('error', () => undefined))
    const store = new PostgresStore(target.location, pool, `"${target.schema}"`, !!opts.readOnly)
    let client: pg.PoolClient
    try {
      client = await pool.connect()
    } catch (e) {
      await pool.end().catch(() => undefined)
      throw connectError(target.location, e)
    }
    try {
      await store.migrate(client, target.schema, !!opts.create)
    } catch (e) {
      client.release()
      await pool.end().catch(() => undefined)
      throw e instanceof UserError ? e : connectError(target.location, e)
    }
    client.release()
    return store
  }

  private async version(client: pg.PoolClient, schema: string): Promise<number> {
    // The table, and the columns steme gives it (any other columns it may have are in `cols`).
    const {rows} = await client.query<{t: string | null; ours: boolean; cols: string | null}>(
      `SELECT r::text AS t,
        (SELECT count(*) = 2 FROM pg_attribute WHERE attrelid = r AND attnum > 0 AND NOT attisdropped
          AND ((attname = 'version' AND atttypid = 'integer'::regtype) OR (attname = 'applied_at' AND atttypid = 'timestamptz'::regtype))) AS ours,
        (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = r AND attnum > 0 AND NOT attisdropped) AS cols
      FROM (SELECT to_regclass($1) AS r) x`,
      [`"${schema}".schema_version`],
    )
    if (rows[0].t === null) return 0
    // Another tool's table of the same name (Flyway before 5 kept its history there): its versions
    // read as steme's had steme run its upgrades on that schema, or say it was newer than steme.
    if (!rows[0].ours) {
      throw new UserError(`schema "${schema}" of ${this.location} holds a schema_version table that is not steme's (its columns: ${rows[0].cols ?? 'none'}), so it is not a steme store`, {
        code: 'config',
        hint: `nothing was changed; keep the store in a schema of its own, named by ?schema=<name> in the URL (such as ${shellWord(withSchema(this.location, schema === 'steme_store' ? 'steme_store_2' : 'steme_store'))}), and use that URL with every command`,
      })
    }
    const v = await client.query<{v: number | null}>(`SELECT max(version) AS v FROM ${this.s}.schema_version`)
    return v.rows[0].v ?? 0
  }

  private async migrate(client: pg.PoolClient, schema: string, create: boolean): Promise<void> {
    const version = await this.version(client, schema)
    if (version > SCHEMA_VERSION) {
      throw new UserError(`${this.location} has steme schema version ${version}, newer than this steme understands (${SCHEMA_VERSION})`, {
        code: 'config',
        hint: 'upgrade steme on this machine to the version that wrote the store',
      })
    }
    if (version === SCHEMA_VERSION) return
    if (version === 0 && !create) {
      throw new UserError(`${this.location} has no steme store (no schema "${schema}" with steme's tables)`, {
        code: 'no_store',
        // Quoted for the shell: a ?schema= URL pasted bare is a glob to it.
        hint: `create it with \`steme init --store ${shellWord(this.location)}\`, or copy a store into it with \`steme migrate --from <store> --to ${shellWord(this.location)}\``,
      })
    }
    // An older schema is upgraded even by read-only commands: unlike a DuckDB file, a server
    // store has no single-writer lock to respect, and every process needs the same schema.
    // Several processes may open a new store at once: one migrates, the others wait and then see
    // it done. The lock is taken before BEGIN on purpose: a transaction that started before the
    // winner committed can keep a stale catalog cache and miss the new schema.
    const key = `steme-migrate:${schema}`
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [key])
    try {
      await this.migrateLocked(client, schema)
    } catch (e) {
      // A user who may read the store but not change its tables (a read-only role) meets the
      // upgrade, not a missing grant for what it came to do: said as such.
      if (version > 0 && pgCode(e) === '42501') {
        throw new UserError(`${this.location} has steme schema version ${version}, which this steme upgrades to ${SCHEMA_VERSION} when it opens the store, and its PostgreSQL user may not: ${e instanceof Error ? e.message : String(e)}`, {
          code: 'forbidden',
          hint: `open the store once as the user that owns its tables (any command upgrades it, such as \`steme stats --store ${shellWord(this.location.replace(/^(postgres(?:ql)?:\/\/)(?:[^@/?]*@)?/, '$1<owner>@'))}\`), or use the steme version that wrote it`,
          cause: e,
        })
      }
      // The schema is another application's: creating steme's tables in it met one of its own.
      if (version === 0 && pgCode(e) === '42P07') {
        throw new UserError(`cannot create a steme store in schema "${schema}" of ${this.location}: it already holds tables that are not steme's (${e instanceof Error ? e.message : String(e)})`, {
          code: 'config',
          hint: `nothing was changed; keep the store in a schema of its own, named by ?schema=<name> in the URL (such as ${shellWord(withSchema(this.location, schema === 'steme_store' ? 'steme_store_2' : 'steme_store'))}), and use that URL with every command`,
          cause: e,
        })
      }
      throw e
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [key]).catch(() => undefined)
    }
  }

  private async migrateLocked(client: pg.PoolClient, schema: string): Promise<void> {
    await client.query('BEGIN')
    try {
      const version = await this.version(client, schema)
      if (version < SCHEMA_VERSION) {
        // Only when it is not there: CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even
        // then, which the owner of a schema made for it by an admin need not have.
        const {rows} = await client.query<{ns: string | null}>('SELECT to_regnamespace($1)::text AS ns', [`"${schema}"`])
        if (rows[0].ns === null) await client.query(`CREATE SCHEMA ${this.s}`)
        await client.query(`CREATE TABLE IF NOT EXISTS ${this.s}.schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
        for (let v = version; v < SCHEMA_VERSION; v++) {
          for (const sql of MIGRATIONS[v](this.s)) await client.query(sql)
          await client.query(`INSERT INTO ${this.s}.schema_version (version) VALUES ($1)`, [v + 1])
        }
      }
      await client.query('COMMIT')
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw e
    }
  }

  private async rows<T extends pg.QueryResultRow>(name: string, text: string, values: unknown[] = []): Promise<T[]> {
    try {
      return (await this.pool.query<T>({name, text, values})).rows
    } catch (e) {
      throw this.lost(e)
    }
  }

  /** A lost server, a missing privilege or a read-only server becomes a UserError naming the store; anything else stays as it is (a bug). */
  private lost(e: unknown): unknown {
    return storeError(this.location, e)
  }

  async insert(batch: readonly Sealed[]): Promise<InsertResult> {
    if (this.readOnly) throw new UserError(`${this.location} is open read-only`, {code: 'locked'})
    const unique = new Map<string, Sealed>()
    for (const s of batch) unique.set(s.record.id, s)
    if (unique.size === 0) return {added: 0, present: batch.length}
    // Rows go in id order, so two writers inserting overlapping batches lock ids in the same
    // order and never deadlock on each other.
    const sorted = [...unique.values()].sort((a, b) => (a.record.id < b.record.id ? -1 : 1))
    const {records, refs} = copyRows(sorted)
    const client = await this.pool.connect().catch((e) => Promise.reject(this.lost(e)))
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          const added = await this.insertTx(client, records, refs, unique)
          return {added, present: batch.length - added}
        } catch (e) {
          if (attempt >= ATTEMPTS || !RETRYABLE.has(pgCode(e) ?? '')) throw this.lost(e)
          await new Promise((r) => setTimeout(r, 10 * 2 ** attempt * Math.random()))
        }
      }
    } finally {
      client.release()
    }
  }

  /** One batch in one transaction: COPY into staging, move what is new, fold it into the sync buckets; returns how many rows were new. */
  private async insertTx(client: pg.PoolClient, records: string[], refs: string[], batch: ReadonlyMap<string, Sealed>): Promise<number> {
    try {
      // Inside the try: a staging table this user may not create aborts the transaction, which
      // must be rolled back before the connection goes back to the pool for the next batch.
      await client.query('BEGIN;' + STAGE)
      await pipeline(Readable.from(records), client.query(copyFrom(`COPY steme_stage (${STAGE_COLUMNS}) FROM STDIN`)))
      if (refs.length) await pipeline(Readable.from(refs), client.query(copyFrom('COPY steme_stage_refs (src, dst, rel) FROM STDIN')))
      // ON CONFLICT DO NOTHING waits on a concurrent writer's uncommitted copy of an id and then
      // skips it, so across processes every id is added exactly once, by one transaction. Refs
      // and bucket sums follow only the rows this transaction added.
      const {rows} = await client.query<{id: Buffer}>({
        name: 'steme-insert',
        text: `WITH ins AS (
            INSERT INTO ${this.s}.records (${STAGE_COLUMNS})
            SELECT ${STAGE_COLUMNS} FROM steme_stage ORDER BY id
            ON CONFLICT (id) DO NOTHING RETURNING id
          ), r AS (
            INSERT INTO ${this.s}.refs (src, dst, rel) SELECT f.src, f.dst, f.rel FROM steme_stage_refs f JOIN ins ON ins.id = f.src
          )
          SELECT id FROM ins`,
      })
      if (rows.length) await this.addBucketSums(client, rows.map((r) => batch.get(r.id.toString('hex'))!))
      await client.query('COMMIT')
      return rows.length
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined)
      throw e
    }
  }

  /**
   * Add freshly inserted records to their buckets' count and id sum. Buckets are upserted in
   * ascending order so concurrent writers take the row locks in one order. The row lock is held
   * to commit, so writers into the same bucket serialize only for this last statement.
   */
  private async addBucketSums(client: pg.PoolClient, fresh: readonly Sealed[]): Promise<void> {
    const sums = new Map<number, {n: number; sum: bigint}>()
    for (const {record: r} of fresh) {
      const b = bucketOf(r.hlc)
      const acc = sums.get(b)
      if (acc) {
        acc.n++
        acc.sum += idValue(r.id)
      } else sums.set(b, {n: 1, sum: idValue(r.id)})
    }
    const buckets = [...sums.keys()].sort((a, b) => a - b)
    await client.query({
      name: 'steme-buckets',
      text: `INSERT INTO ${this.s}.sync_buckets AS b (bucket, n, sum)
        SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::numeric[])
        ON CONFLICT (bucket) DO UPDATE SET n = b.n + excluded.n, sum = mod(b.sum + excluded.sum, ${MOD})`,
      values: [buckets.map(String), buckets.map((b) => String(sums.get(b)!.n)), buckets.map((b) => (sums.get(b)!.sum % MOD).toString())],
    })
  }

  async bucketSums(from: number, to: number): Promise<BucketSum[]> {
    const rows = await this.rows<{bucket: string; n: string; sum: string}>(
      'steme-bucket-sums',
      `SELECT bucket, n, sum::text AS sum FROM ${this.s}.sync_buckets WHERE bucket BETWEEN $1 AND $2 ORDER BY bucket`,
      [String(from), String(to)],
    )
    return rows.map((r) => ({bucket: Number(r.bucket), count: Number(r.n), sum: BigInt(r.sum)}))
  }

  async bucketIds(spans: readonly BucketSpan[]): Promise<BucketId[]> {
    const out: BucketId[] = []
    // One statement per CHUNK spans: a nested loop of (hlc, id) index range scans, one per span.
    for (let i = 0; i < spans.length; i += CHUNK) {
      const part = spans.slice(i, i + CHUNK)
      const rows = await this.rows<{b: string; id: Buffer}>(
        'steme-bucket-ids',
        `SELECT substr(r.hlc, 1, 11) AS b, r.id FROM unnest($1::text[], $2::text[]) AS s (lo, hi)
         JOIN LATERAL (SELECT hlc, id FROM ${this.s}.records WHERE hlc >= s.lo AND hlc < s.hi) AS r ON true
         ORDER BY 1, 2`,
        [part.map((s) => bucketFloor(s.from)), part.map((s) => (s.to >= MAX_BUCKET ? 'g' : bucketFloor(s.to + 1)))],
      )
      for (const r of rows) out.push({bucket: parseInt(r.b, 16), id: r.id.toString('hex')})
    }
    return out
  }

  async get(ids: readonly string[]): Promise<Sealed[]> {
    const out: Sealed[] = []
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await this.rows<Row>('steme-get', `SELECT ${COLS} FROM ${this.s}.records WHERE id = ANY($1::bytea[])`, [ids.slice(i, i + CHUNK).map(idBuf)])
      out.push(...rows.map(toSealed))
    }
    return out
  }

  async has(ids: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>()
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await this.rows<{id: Buffer}>('steme-has', `SELECT id FROM ${this.s}.records WHERE id = ANY($1::bytea[])`, [ids.slice(i, i + CHUNK).map(idBuf)])
      for (const r of rows) out.add(r.id.toString('hex'))
    }
    return out
  }

  async idsWithPrefix(prefix: string, limit: number): Promise<string[]> {
    const [lo, hi] = prefixRange(prefix)
    const rows = await this.rows<{id: Buffer}>('steme-id-prefix', `SELECT id FROM ${this.s}.records WHERE id BETWEEN $1 AND $2 ORDER BY id LIMIT $3`, [lo, hi, Math.max(0, Math.floor(limit))])
    return rows.map((r) => r.id.toString('hex'))
  }

  async assertions(subject: string, predicate?: string, until?: string): Promise<Assertion[]> {
    const rows = await this.rows<Row>(
      'steme-assertions',
      `SELECT ${COLS} FROM ${this.s}.records
       WHERE subject = $1 AND ($2::text IS NULL OR predicate = $2) AND ($3::text IS NULL OR hlc <= $3)
       ORDER BY hlc, id`,
      [pgText(subject), predicate === undefined ? null : pgText(predicate), until ?? null],
    )
    return rows.map((r) => toSealed(r).record as Assertion).filter((a) => a.subject === subject && (predicate === undefined || a.predicate === predicate))
  }

  async referencing(ids: readonly string[]): Promise<SignedRecord[]> {
    const out: SignedRecord[] = []
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await this.rows<Row>(
        'steme-referencing',
        `SELECT ${COLS}, hlc FROM ${this.s}.records WHERE target = ANY($1::text[])
         UNION SELECT ${COLS}, hlc FROM ${this.s}.records WHERE id IN (SELECT src FROM ${this.s}.refs WHERE dst = ANY($1::text[]))
         ORDER BY hlc, id`,
        [ids.slice(i, i + CHUNK)],
      )
      out.push(...rows.map((r) => toSealed(r).record))
    }
    return out
  }

  async ofKinds(kinds: readonly Kind[], until?: string): Promise<SignedRecord[]> {
    // Spelled out so the planner can use the partial index of the small kinds.
    const small = !kinds.includes('assertion') && !kinds.includes('vote')
    const rows = await this.rows<Row>(
      small ? 'steme-of-small-kinds' : 'steme-of-kinds',
      `SELECT ${COLS} FROM ${this.s}.records WHERE kind = ANY($1::text[]) ${small ? `AND kind <> 'assertion' AND kind <> 'vote'` : ''}
       AND ($2::text IS NULL OR hlc <= $2) ORDER BY hlc, id`,
      [[...kinds], until ?? null],
    )
    return rows.map((r) => toSealed(r).record)
  }

  lineage(ids: readonly string[], until?: string): Promise<Assertion[]> {
    return walkLineage((batch) => this.get(batch), ids, until)
  }

  async cascadeGraph(seed: CascadeSeed, until?: string): Promise<CascadeGraph> {
    const sources = [...(seed.sources ?? [])]
    const rootRows = await this.rows<{id: Buffer; source: string | null}>(
      'steme-cascade-roots',
      `SELECT id, source FROM ${this.s}.records
       WHERE kind = 'assertion' AND (source = ANY($1::text[]) OR id = ANY($2::bytea[])) AND ($3::text IS NULL OR hlc <= $3)`,
      [sources.map(pgText), (seed.ids ?? []).map(idBuf), until ?? null],
    )
    // Re-checked exactly: the typed source column maps U+0000 (see copy.ts).
    const wanted = new Set(seed.ids ?? [])
    const bySource = new Set(sources)
    const roots = rootRows.map((r) => ({id: r.id.toString('hex'), source: r.source})).filter((r) => wanted.has(r.id) || (r.source !== null && bySource.has(r.source))).map((r) => r.id)
    if (roots.length === 0) return {roots: [], nodes: []}
    // The whole walk is one recursive query down evidence edges (refs.dst holds hex ids); a record
    // stamped after `until` neither joins the graph nor carries the walk further.
    const rows = await this.rows<{id: Buffer; evidence: string[]}>(
      'steme-cascade-walk',
      `WITH RECURSIVE reach (id) AS (
         SELECT f.src FROM ${this.s}.refs f JOIN ${this.s}.records x ON x.id = f.src
         WHERE f.rel = 'evidence' AND f.dst = ANY($1::text[]) AND ($2::text IS NULL OR x.hlc <= $2)
         UNION
         SELECT f.src FROM reach r JOIN ${this.s}.refs f ON f.dst = encode(r.id, 'hex') JOIN ${this.s}.records x ON x.id = f.src
         WHERE f.rel = 'evidence' AND ($2::text IS NULL OR x.hlc <= $2)
       )
       SELECT r.id, array_agg(f.dst) AS evidence FROM reach r JOIN ${this.s}.refs f ON f.src = r.id AND f.rel = 'evidence'
       GROUP BY r.id ORDER BY r.id`,
      [roots, until ?? null],
    )
    return {roots: roots.sort(), nodes: rows.map((r) => ({id: r.id.toString('hex'), evidence: r.evidence}))}
  }

  async sourceRetractions(sources: readonly string[], until?: string): Promise<Retract[]> {
    const rows = await this.rows<Row>(
      'steme-source-retractions',
      `SELECT ${COLS} FROM ${this.s}.records
       WHERE kind = 'retract' AND target IS NULL AND source = ANY($1::text[]) AND ($2::text IS NULL OR hlc <= $2) ORDER BY hlc, id`,
      [sources.map(pgText), until ?? null],
    )
    const want = new Set(sources)
    return rows.map((r) => toSealed(r).record as Retract).filter((r) => r.source !== undefined && want.has(r.source))
  }

  async contested(opts: {until?: string; batch?: number} = {}): Promise<ContestedPairs> {
    const until = opts.until ?? null
    const scope = `kind = 'assertion' AND ($1::text IS NULL OR hlc <= $1)`
    // Text columns hold NUL as U+FFFD (pgText): where one appears, the JSON texts of subject and
    // predicate in the canonical record tell pairs apart (PostgreSQL's JSON functions refuse \u0000).
    const [{n}] = await this.rows<{n: string}>(
      'steme-contested-pairs',
      `SELECT count(*) AS n FROM (SELECT DISTINCT subject, predicate,
         CASE WHEN strpos(subject || predicate, chr(65533)) > 0 THEN substring(canonical from '"subject":("(?:[^"\\\\]|\\\\.)*")') || substring(canonical from '"predicate":("(?:[^"\\\\]|\\\\.)*")') END
       FROM ${this.s}.records WHERE ${scope}) AS p`,
      [until],
    )
    const value = valueTextSql('canonical')
    // Per superseded id, its superseders' pairs (supersedes edges are few): how many, and one of
    // them. With more than one, some pair is not the candidate's; a U+FFFD may hide a NUL that
    // tells two pairs apart, so such a pair is flagged too.
    const sql = `SELECT r.id, r.canonical, r.sig, r.subject AS s, r.predicate AS p,
        EXISTS (SELECT 1 FROM ${this.s}.records AS t WHERE t.target = encode(r.id, 'hex') AND t.kind IN ('vote', 'retract')) AS targeted,
        (sup.dst IS NOT NULL AND (sup.n > 1 OR sup.ss <> r.subject OR sup.sp <> r.predicate OR strpos(sup.ss || sup.sp, chr(65533)) > 0)) AS elsewhere
      FROM ${this.s}.records AS r
      JOIN (SELECT subject, predicate FROM ${this.s}.records WHERE ${scope}
            GROUP BY subject, predicate HAVING count(*) > 1 AND min(${value} COLLATE "C") <> max(${value} COLLATE "C")) AS c
        ON r.subject = c.subject AND r.predicate = c.predicate
      LEFT JOIN (SELECT f.dst, count(DISTINCT (x.subject, x.predicate)) AS n, min(x.subject) AS ss, min(x.predicate) AS sp
            FROM ${this.s}.refs AS f JOIN ${this.s}.records AS x ON x.id = f.src WHERE f.rel = 'supersedes' GROUP BY f.dst) AS sup
        ON sup.dst = encode(r.id, 'hex')
      WHERE r.kind = 'assertion' AND ($1::text IS NULL OR r.hlc <= $1)
      ORDER BY r.subject, r.predicate, r.hlc, r.id`
    const size = Math.max(1, Math.floor(opts.batch ?? 2048))
    const connect = () => this.pool.connect().catch((e) => Promise.reject(this.lost(e)))
    const lost = (e: unknown) => this.lost(e)
    async function* rows(): AsyncIterable<Array<{run: string; record: Assertion; targeted: boolean; supersededElsewhere: boolean}>> {
      // A cursor in a read-only snapshot, as scan has: one consistent view however long the consumer takes.
      const client = await connect()
      let open = false
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
        open = true
        await client.query(`DECLARE steme_contested NO SCROLL CURSOR FOR ${sql}`, [until])
        for (;;) {
          const {rows} = await client.query<Row & {s: string; p: string; targeted: boolean; elsewhere: boolean}>(`FETCH FORWARD ${size} FROM steme_contested`)
          if (rows.length) yield rows.map((r) => ({run: `${r.s}\u0000${r.p}`, record: toSealed(r).record as Assertion, targeted: r.targeted, supersededElsewhere: r.elsewhere}))
          if (rows.length < size) break
        }
      } catch (e) {
        throw lost(e)
      } finally {
        if (open) await client.query('COMMIT').catch(() => undefined)
        client.release()
      }
    }
    return {pairs: Number(n), batches: contestedBatches(rows(), size)}
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<Scanned[]> {
    const where: string[] = []
    const values: unknown[] = []
    const param = (v: unknown) => {
      values.push(v)
      return `$${values.length}`
    }
    if (opts.subject !== undefined) where.push(`subject = ${param(pgText(opts.subject))}`)
    if (opts.predicate !== undefined) where.push(`predicate = ${param(pgText(opts.predicate))}`)
    if (opts.kinds) where.push(`kind = ANY(${param([...opts.kinds])}::text[])`)
    if (opts.since !== undefined) where.push(`hlc > ${param(opts.since)}`)
    if (opts.until !== undefined) where.push(`hlc <= ${param(opts.until)}`)
    // A row comparison, which the (hlc, id) index answers; bytea compares byte by byte, as the ids' hex does.
    if (opts.after !== undefined) where.push(`(hlc, id) > (${param(opts.after.hlc)}, ${param(idBuf(opts.after.id))}::bytea)`)
    // With columns, each record's edges come along, gathered from refs.
    const from = opts.columns
      ? `${this.s}.records AS r LEFT JOIN (SELECT src, array_agg(rel || ':' || dst) AS edges FROM ${this.s}.refs GROUP BY src) AS e ON e.src = r.id`
      : `${this.s}.records`
    let sql = `SELECT ${COLS}${opts.columns ? ', kind, agent, hlc, subject, predicate, target, source, edges' : ''} FROM ${from}${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY hlc, id`
    if (opts.limit !== undefined) sql += ` LIMIT ${Math.max(0, Math.floor(opts.limit))}`
    const size = Math.max(1, Math.floor(opts.batch ?? 2048))
    // A cursor in a read-only snapshot: one consistent view however long the consumer takes.
    const client = await this.pool.connect().catch((e) => Promise.reject(this.lost(e)))
    let open = false
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY')
      open = true
      await client.query(`DECLARE steme_scan NO SCROLL CURSOR FOR ${sql}`, values)
      for (;;) {
        const {rows} = await client.query<Row & Partial<StoredColumns>>(`FETCH FORWARD ${size} FROM steme_scan`)
        let batch: Scanned[] = rows.map((r) => (opts.columns ? checked(r as Row & StoredColumns, opts.damaged) : scannedRow(r, opts.damaged)))
        if (opts.subject !== undefined) batch = batch.filter((s) => s.record.kind === 'assertion' && s.record.subject === opts.subject)
        if (opts.predicate !== undefined) batch = batch.filter((s) => s.record.kind === 'assertion' && s.record.predicate === opts.predicate)
        if (batch.length) yield batch
        if (rows.length < size) break
      }
    } catch (e) {
      throw this.lost(e)
    } finally {
      if (open) await client.query('COMMIT').catch(() => undefined)
      client.release()
    }
  }

  derivedProblems(): Promise<DerivedProblem[]> {
    return derived.derivedProblems((name, text, values) => this.rows(name, text, values), this.s)
  }

  async repairDerived(records: readonly SignedRecord[]): Promise<DerivedRepair> {
    if (this.readOnly) throw new UserError(`${this.location} is open read-only`, {code: 'locked'})
    const client = await this.pool.connect().catch((e) => Promise.reject(this.lost(e)))
    try {
      await client.query('BEGIN')
      try {
        const done = await derived.repairDerived(client, this.s, records)
        await client.query('COMMIT')
        return done
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined)
        throw e
      }
    } catch (e) {
      throw this.lost(e)
    } finally {
      client.release()
    }
  }

  async stats(): Promise<StoreStats> {
    const kinds = await this.rows<{kind: Kind; n: string}>('steme-stats-kinds', `SELECT kind, count(*) AS n FROM ${this.s}.records GROUP BY kind`)
    const byKind: Record<Kind, number> = {assertion: 0, vote: 0, retract: 0, epoch: 0, trust: 0}
    for (const k of kinds) byKind[k.kind] = Number(k.n)
    const [c] = await this.rows<{records: string; agents: string; subjects: string}>(
      'steme-stats',
      `SELECT count(*) AS records, count(DISTINCT agent) AS agents, count(DISTINCT subject) AS subjects FROM ${this.s}.records`,
    )
    // Sizes come from catalog functions that some wire-compatible engines lack: leave them out there.
    const size = await this.rows<{bytes: string | null}>(
      'steme-stats-bytes',
      `SELECT sum(pg_total_relation_size(c.oid)) AS bytes FROM pg_class c WHERE c.relnamespace = '${this.s}'::regnamespace AND c.relkind = 'r'`,
    ).catch(() => [])
    const bytes = size[0]?.bytes == null ? undefined : Number(size[0].bytes)
    return {records: Number(c.records), byKind, agents: Number(c.agents), subjects: Number(c.subjects), bytes}
  }

  async maxHlc(): Promise<string | undefined> {
    const [r] = await this.rows<{m: string | null}>('steme-max-hlc', `SELECT max(hlc) AS m FROM ${this.s}.records`)
    return r.m ?? undefined
  }

  async getMeta(key: string): Promise<string | undefined> {
    const rows = await this.rows<{value: string}>('steme-get-meta', `SELECT value FROM ${this.s}.meta WHERE key = $1`, [key])
    return rows[0]?.value
  }

  async setMeta(key: string, value: string): Promise<void> {
    if (this.readOnly) throw new UserError(`${this.location} is open read-only`, {code: 'locked'})
    await this.rows('steme-set-meta', `INSERT INTO ${this.s}.meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [key, value])
  }

  async close(): Promise<void> {
    await this.pool.end()
  }
}
