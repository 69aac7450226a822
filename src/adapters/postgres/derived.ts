/** The PostgreSQL store's derived tables against its records, for fsck: refs rows of no record, sync_buckets that drifted, and their repair. */
import type pg from 'pg'
import type {SignedRecord} from '../../core/record.js'
import {valueId} from '../../core/bucket.js'
import {recordEdges, typedColumns, type DerivedProblem, type DerivedRepair} from '../../core/store.js'
import {pgText} from './copy.js'
import {bucketSums} from './schema.js'

type Query = <T extends pg.QueryResultRow>(name: string, text: string, values?: unknown[]) => Promise<T[]>

/** Array parameters are chunked so one statement never carries an unbounded list. */
const CHUNK = 1000

/** What fsck reports of the derived tables; each table in one statement, so one snapshot. */
export async function derivedProblems(query: Query, s: string): Promise<DerivedProblem[]> {
  const [orphans, drift] = await Promise.all([
    query<{src: string; rel: string; dst: string}>(
      'steme-fsck-orphan-refs',
      `SELECT encode(src, 'hex') AS src, rel, dst FROM ${s}.refs AS f WHERE NOT EXISTS (SELECT 1 FROM ${s}.records AS r WHERE r.id = f.src) ORDER BY 1, 2, 3`,
    ),
    query<{bucket: string; sn: string | null; ss: string | null; en: string | null; es: string | null}>(
      'steme-fsck-bucket-drift',
      `WITH e AS (${bucketSums(s)})
       SELECT coalesce(b.bucket, e.bucket) AS bucket, b.n AS sn, b.sum::text AS ss, e.n AS en, e.sum::text AS es
       FROM ${s}.sync_buckets AS b FULL JOIN e ON e.bucket = b.bucket
       WHERE b.bucket IS NULL OR e.bucket IS NULL OR b.n <> e.n OR b.sum <> e.sum
       ORDER BY 1`,
    ),
  ])
  const out: DerivedProblem[] = []
  for (const {src, rel, dst} of orphans) {
    const last = out[out.length - 1]
    if (last?.table === 'refs' && last.src === src) last.edges.push(`${rel}:${dst}`)
    else out.push({table: 'refs', src, edges: [`${rel}:${dst}`]})
  }
  const tally = (n: string | null, sum: string | null) => (n === null ? null : {count: Number(n), sum: valueId(BigInt(sum!))})
  for (const r of drift) out.push({table: 'sync_buckets', bucket: Number(r.bucket), stored: tally(r.sn, r.ss), expected: tally(r.en, r.es)})
  return out
}

/**
 * The repair, on `client` inside the caller's transaction. refs and sync_buckets are locked
 * first, in the order inserts write them, so no insert adds to a bucket between the recount
 * and the commit (it waits, then adds to the recounted row) and none deadlocks with the repair.
 */
export async function repairDerived(client: pg.PoolClient, s: string, records: readonly SignedRecord[]): Promise<DerivedRepair> {
  await client.query(`LOCK TABLE ${s}.refs, ${s}.sync_buckets IN EXCLUSIVE MODE`)
  const text = (v: string | null) => (v === null ? null : pgText(v))
  for (let i = 0; i < records.length; i += CHUNK) {
    const part = records.slice(i, i + CHUNK)
    const ids = part.map((r) => Buffer.from(r.id, 'hex'))
    const cols = part.map(typedColumns)
    await client.query({
      name: 'steme-fsck-fix-columns',
      text: `UPDATE ${s}.records AS r SET kind = f.kind, agent = f.agent, hlc = f.hlc, subject = f.subject, predicate = f.predicate, target = f.target, source = f.source
        FROM unnest($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS f (id, kind, agent, hlc, subject, predicate, target, source)
        WHERE r.id = f.id`,
      values: [ids, ...(['kind', 'agent', 'hlc', 'subject', 'predicate', 'target', 'source'] as const).map((k) => cols.map((c) => text(c[k])))],
    })
    await client.query({name: 'steme-fsck-drop-refs', text: `DELETE FROM ${s}.refs WHERE src = ANY($1::bytea[])`, values: [ids]})
    const edges = part.flatMap((r, j) => recordEdges(r).map((e) => ({src: ids[j], ...e})))
    if (edges.length) {
      await client.query({
        name: 'steme-fsck-put-refs',
        text: `INSERT INTO ${s}.refs (src, dst, rel) SELECT * FROM unnest($1::bytea[], $2::text[], $3::text[])`,
        values: [edges.map((e) => e.src), edges.map((e) => e.dst), edges.map((e) => e.rel)],
      })
    }
  }
  const orphans = await client.query(`DELETE FROM ${s}.refs AS f WHERE NOT EXISTS (SELECT 1 FROM ${s}.records AS r WHERE r.id = f.src)`)
  // After the typed columns: buckets follow the hlc column. Rows already right are left alone.
  const {rows} = await client.query<{changed: string}>(
    `WITH e AS (${bucketSums(s)}),
     gone AS (DELETE FROM ${s}.sync_buckets AS b WHERE NOT EXISTS (SELECT 1 FROM e WHERE e.bucket = b.bucket) RETURNING 1),
     put AS (
       INSERT INTO ${s}.sync_buckets AS b (bucket, n, sum) SELECT bucket, n, sum FROM e
       ON CONFLICT (bucket) DO UPDATE SET n = excluded.n, sum = excluded.sum WHERE b.n <> excluded.n OR b.sum <> excluded.sum
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM gone) + (SELECT count(*) FROM put) AS changed`,
  )
  return {records: records.length, refsRemoved: orphans.rowCount ?? 0, buckets: Number(rows[0].changed)}
}
