/** DuckDB schema and its migrations: each entry moves the store up one version, in a transaction. */

export const SCHEMA_VERSION = 3

/**
 * The rows sync_buckets should hold, computed from the records: per bucket of the hlc column,
 * the count and the per-limb sums of the ids, as migration 3 fills the table. What fsck checks
 * it against and --repair rewrites it from (about 0.1 s of CPU per 100k records). A row whose
 * hlc column is not a stamp belongs to no bucket, here as in sync's reads by hlc range (and
 * fsck reports its column), rather than failing the whole check.
 */
export const BUCKET_SUMS = `SELECT TRY_CAST('0x' || substr(hlc, 1, 11) AS BIGINT) AS bucket, count(*) AS n,
        sum(('0x' || substr(hex(id), 1, 16))::UBIGINT::HUGEINT) AS l0, sum(('0x' || substr(hex(id), 17, 16))::UBIGINT::HUGEINT) AS l1,
        sum(('0x' || substr(hex(id), 33, 16))::UBIGINT::HUGEINT) AS l2, sum(('0x' || substr(hex(id), 49, 16))::UBIGINT::HUGEINT) AS l3
      FROM records GROUP BY 1 HAVING TRY_CAST('0x' || substr(hlc, 1, 11) AS BIGINT) IS NOT NULL`

/** MIGRATIONS[n] upgrades a store from version n to n + 1. */
export const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
    // Records verbatim (canonical body + signature) plus typed columns for queries. Ids are
    // 32-byte BLOBs: a hex VARCHAR key nearly triples the file and halves ingest.
    // subject is stored uncompressed. A subject lookup fetches its index hits row by row and
    // checks each row's subject again, and fetching one row from an FSST segment (what DuckDB
    // picks for this column) is costly. On a 1M-record store a 10-row subject took 0.64 ms of
    // CPU instead of 0.95, and eight in one IN query 0.22 instead of 0.47 ms each, for 2% more
    // disk (427 against 419 MB). The other strings keep DuckDB's choice (FSST, or DICT_FSST in
    // the 1.5 storage format): storing canonical uncompressed made lookups in a fresh process
    // slower (p95 4.7 against 1.9 ms), as every cold block read is bigger.
    // Stores created before this keep FSST on subject. They answer the same, only slower.
    // id and sig are uncompressed too: they are random bytes, which DuckDB's default analyses for
    // DICT_FSST at every checkpoint, to store them barely smaller. Checkpointing 100k new
    // records into a 900k-record store took 315-320 ms of CPU instead of 370-378; the 1M-record
    // bench store is 0.9% bigger (403.0 against 399.3 MiB). Stores created before this keep
    // their choice.
    `CREATE TABLE IF NOT EXISTS records (
      id BLOB USING COMPRESSION uncompressed PRIMARY KEY,
      kind VARCHAR NOT NULL,
      agent VARCHAR NOT NULL,
      hlc VARCHAR NOT NULL,
      subject VARCHAR USING COMPRESSION uncompressed,
      predicate VARCHAR,
      target VARCHAR,
      source VARCHAR,
      canonical VARCHAR NOT NULL,
      sig BLOB USING COMPRESSION uncompressed NOT NULL
    )`,
    // evidence and supersedes edges, so "what cites this" and cascades are index lookups.
    `CREATE TABLE IF NOT EXISTS refs (src BLOB NOT NULL, dst VARCHAR NOT NULL, rel VARCHAR NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS records_subject ON records (subject)`,
    `CREATE INDEX IF NOT EXISTS records_target ON records (target)`,
    `CREATE INDEX IF NOT EXISTS refs_dst ON refs (dst)`,
  ],
  // 2: source lookups, for retractions by source and the seeds of their cascade.
  [`CREATE INDEX IF NOT EXISTS records_source ON records (source)`],
  // 3: sync fingerprints.
  [
    // Sync fingerprints: per time bucket (hlc wall ms >> 20, the first 11 hex digits of hlc),
    // the count and the sum of ids as four 64-bit limbs (most significant first). Limb sums
    // cannot overflow HUGEINT below 2^64 records; the sum mod 2^256 is folded in JS. Kept up
    // to date by insert in the same transaction; filled here from what is already stored.
    `CREATE TABLE IF NOT EXISTS sync_buckets (
      bucket BIGINT PRIMARY KEY,
      n BIGINT NOT NULL,
      l0 HUGEINT NOT NULL, l1 HUGEINT NOT NULL, l2 HUGEINT NOT NULL, l3 HUGEINT NOT NULL
    )`,
    `INSERT INTO sync_buckets
      SELECT ('0x' || substr(hlc, 1, 11))::BIGINT, count(*),
        sum(('0x' || substr(hex(id), 1, 16))::UBIGINT::HUGEINT), sum(('0x' || substr(hex(id), 17, 16))::UBIGINT::HUGEINT),
        sum(('0x' || substr(hex(id), 33, 16))::UBIGINT::HUGEINT), sum(('0x' || substr(hex(id), 49, 16))::UBIGINT::HUGEINT)
      FROM records GROUP BY 1`,
  ],
]
