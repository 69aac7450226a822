/** The DuckDB store's derived tables against its records, for fsck: refs rows of no record, sync_buckets that drifted, and their repair. */
import type {DuckDBAppender, DuckDBConnection} from '@duckdb/node-api'
import type {SignedRecord} from '../../core/record.js'
import {fromLimbs, valueId} from '../../core/bucket.js'
import {recordEdges, typedColumns, type BucketTally, type DerivedProblem, type DerivedRepair} from '../../core/store.js'
import type {Reader, Value} from './lean.js'
import {BUCKET_SUMS} from './schema.js'

const LIMBS = ['l0', 'l1', 'l2', 'l3']
/** Rows of sync_buckets (b) and of the sums the records give (e) that differ, by bucket. */
const DRIFT = `WITH e AS (${BUCKET_SUMS})
  SELECT coalesce(b.bucket, e.bucket) AS bucket, b.n, b.l0, b.l1, b.l2, b.l3, e.n, e.l0, e.l1, e.l2, e.l3
  FROM sync_buckets AS b FULL OUTER JOIN e ON e.bucket = b.bucket
  WHERE b.bucket IS NULL OR e.bucket IS NULL OR b.n <> e.n OR ${LIMBS.map((l) => `b.${l} <> e.${l}`).join(' OR ')}
  ORDER BY 1`

/** refs rows whose src is not a stored record, one row per edge. */
const ORPHANS = `SELECT src, rel, dst FROM refs WHERE src NOT IN (SELECT id FROM records) ORDER BY src, rel, dst`

/** A bucket row's count and limb sums (from `at`) as a tally, or null when the row is absent. */
function tally(row: Value[], at: number): BucketTally | null {
  if (row[at] === null) return null
  const [l0, l1, l2, l3] = row.slice(at + 1, at + 5) as bigint[]
  return {count: Number(row[at]), sum: valueId(fromLimbs(l0, l1, l2, l3))}
}

/** What fsck reports of the derived tables; each table in one statement, so one snapshot. */
export async function derivedProblems(reader: Reader): Promise<DerivedProblem[]> {
  const [orphans, drift] = await Promise.all([reader.values(ORPHANS), reader.values(DRIFT)])
  const out: DerivedProblem[] = []
  for (const [src, rel, dst] of orphans as string[][]) {
    const last = out[out.length - 1]
    if (last?.table === 'refs' && last.src === src) last.edges.push(`${rel}:${dst}`)
    else out.push({table: 'refs', src, edges: [`${rel}:${dst}`]})
  }
  for (const row of drift) {
    const stored = tally(row, 1)
    const expected = tally(row, 6)
    // Limbs may differ while the sums mod 2^256 agree: sync reads the sums, so those stay quiet.
    if (stored && expected && stored.count === expected.count && stored.sum === expected.sum) continue
    out.push({table: 'sync_buckets', bucket: Number(row[0]), stored, expected})
  }
  return out
}

/**
 * The repair, on the write connection inside the caller's transaction: typed columns and refs
 * of the given records from the records, refs of no record deleted, then every sync_buckets row
 * brought in line with the records (updated, added or removed; rows already right stay).
 */
export async function repairDerived(conn: DuckDBConnection, records: readonly SignedRecord[]): Promise<DerivedRepair> {
  if (records.length) {
    await conn.run(`CREATE TEMP TABLE fsck_fix (id BLOB, kind VARCHAR, agent VARCHAR, hlc VARCHAR, subject VARCHAR, predicate VARCHAR, target VARCHAR, source VARCHAR)`)
    await conn.run(`CREATE TEMP TABLE fsck_refs (src BLOB, dst VARCHAR, rel VARCHAR)`)
    await fill(conn, 'fsck_fix', (app) => {
      for (const r of records) {
        const c = typedColumns(r)
        app.appendBlob(Buffer.from(r.id, 'hex'))
        for (const v of [c.kind, c.agent, c.hlc, c.subject, c.predicate, c.target, c.source]) {
          if (v === null) app.appendNull()
          else app.appendVarchar(v)
        }
        app.endRow()
      }
    })
    await fill(conn, 'fsck_refs', (app) => {
      for (const r of records) {
        for (const e of recordEdges(r)) {
          app.appendBlob(Buffer.from(r.id, 'hex'))
          app.appendVarchar(e.dst)
          app.appendVarchar(e.rel)
          app.endRow()
        }
      }
    })
    await conn.run(`UPDATE records SET kind = f.kind, agent = f.agent, hlc = f.hlc, subject = f.subject, predicate = f.predicate, target = f.target, source = f.source
      FROM temp.main.fsck_fix AS f WHERE records.id = f.id`)
    await conn.run(`DELETE FROM refs WHERE src IN (SELECT id FROM temp.main.fsck_fix)`)
    await conn.run(`INSERT INTO refs SELECT src, dst, rel FROM temp.main.fsck_refs`)
    await conn.run(`DROP TABLE temp.main.fsck_fix`)
    await conn.run(`DROP TABLE temp.main.fsck_refs`)
  }
  const refsRemoved = (await conn.run(`DELETE FROM refs WHERE src NOT IN (SELECT id FROM records)`)).rowsChanged
  // After the typed columns: buckets follow the hlc column.
  await conn.run(`CREATE TEMP TABLE fsck_buckets AS ${BUCKET_SUMS}`)
  const e = 'temp.main.fsck_buckets'
  let buckets = (await conn.run(`DELETE FROM sync_buckets WHERE bucket NOT IN (SELECT bucket FROM ${e})`)).rowsChanged
  buckets += (
    await conn.run(`UPDATE sync_buckets SET n = e.n, ${LIMBS.map((l) => `${l} = e.${l}`).join(', ')} FROM ${e} AS e
      WHERE e.bucket = sync_buckets.bucket AND (sync_buckets.n <> e.n OR ${LIMBS.map((l) => `sync_buckets.${l} <> e.${l}`).join(' OR ')})`)
  ).rowsChanged
  buckets += (await conn.run(`INSERT INTO sync_buckets SELECT * FROM ${e} WHERE bucket NOT IN (SELECT bucket FROM sync_buckets)`)).rowsChanged
  await conn.run(`DROP TABLE ${e}`)
  return {records: records.length, refsRemoved, buckets}
}

/** Append rows to a temp table; the appender is dropped, not flushed, if filling fails. */
async function fill(conn: DuckDBConnection, table: string, rows: (app: DuckDBAppender) => void): Promise<void> {
  const app = await conn.createAppender(table, 'main', 'temp')
  try {
    rows(app)
    app.flushSync()
    app.closeSync()
  } catch (e) {
    try {
      app.clear()
      app.closeSync()
    } catch {
      // Already closed: nothing left to flush.
    }
    throw e
  }
}
