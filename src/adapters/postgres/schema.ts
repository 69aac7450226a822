/** PostgreSQL schema and its migrations: each entry moves a store up one version, in one transaction. */

export const SCHEMA_VERSION = 3

/** 2^256, the modulus of bucket sums, and 2^64, one limb. */
export const MOD = 2n ** 256n
const LIMB = 2n ** 64n

/**
 * MIGRATIONS[n](schema) upgrades a store from version n to n + 1. Tables live in their own
 * PostgreSQL schema (default `steme`), so a store can share a database with other applications.
 * The typed columns mirror the DuckDB adapter. Text columns that are compared or ordered use
 * the "C" collation: byte order equals JavaScript string order (hlc and ids sort the same on
 * every peer), and it is the cheapest collation to index.
 */
export const MIGRATIONS: Array<(s: string) => string[]> = [
  (s) => [
    `CREATE TABLE ${s}.meta (key text PRIMARY KEY, value text NOT NULL)`,
    // Records verbatim (canonical body + signature) plus typed columns for queries. The id is
    // the 32 raw bytes of the BLAKE3 hash: memcmp order equals the order of the hex ids.
    `CREATE TABLE ${s}.records (
      id bytea PRIMARY KEY,
      kind text NOT NULL,
      agent text COLLATE "C" NOT NULL,
      hlc text COLLATE "C" NOT NULL,
      subject text COLLATE "C",
      predicate text COLLATE "C",
      target text COLLATE "C",
      source text COLLATE "C",
      canonical text NOT NULL,
      sig bytea NOT NULL
    )`,
    // evidence and supersedes edges, so "what cites this" and cascades are index lookups.
    `CREATE TABLE ${s}.refs (src bytea NOT NULL, dst text COLLATE "C" NOT NULL, rel text NOT NULL)`,
    // Partial indexes: only assertions have a subject, only votes/retractions/trust a target.
    `CREATE INDEX records_subject ON ${s}.records (subject, predicate) WHERE subject IS NOT NULL`,
    `CREATE INDEX records_target ON ${s}.records (target) WHERE target IS NOT NULL`,
    // (hlc, id) is the total order: ordered scans, as-of bounds and max(hlc) walk this index.
    `CREATE INDEX records_hlc ON ${s}.records (hlc, id)`,
    // The small kinds (epochs, trust, retractions) are listed whole by ofKinds.
    `CREATE INDEX records_kind ON ${s}.records (kind, hlc) WHERE kind <> 'assertion' AND kind <> 'vote'`,
    `CREATE INDEX refs_dst ON ${s}.refs (dst)`,
  ],
  (s) => [
    // Sync fingerprints: per time bucket (hlc wall ms >> 20, its first 11 hex digits) the count
    // and the sum of ids as 256-bit integers mod 2^256, an exact numeric. Insert keeps them up to
    // date in its own transaction; here they are filled from what is already stored, summing the
    // id in four unsigned 64-bit limbs (bit(64)::bigint is signed, hence the mod 2^64).
    `CREATE TABLE ${s}.sync_buckets (bucket bigint PRIMARY KEY, n bigint NOT NULL, sum numeric(78, 0) NOT NULL)`,
    `INSERT INTO ${s}.sync_buckets (bucket, n, sum)
      SELECT bucket, count(*), mod(sum(l0) * ${2n ** 192n} + sum(l1) * ${2n ** 128n} + sum(l2) * ${2n ** 64n} + sum(l3), ${MOD})
      FROM (
        SELECT ('x' || lpad(substr(hlc, 1, 11), 16, '0'))::bit(64)::bigint AS bucket,
          ${[0, 1, 2, 3].map((i) => `mod(('x' || encode(substr(id, ${i * 8 + 1}, 8), 'hex'))::bit(64)::bigint::numeric + ${LIMB}, ${LIMB}) AS l${i}`).join(', ')}
        FROM ${s}.records
      ) AS limbs
      GROUP BY bucket`,
  ],
  (s) => [
    // The retraction cascade: assertions and retractions by source, evidence lists by citing record.
    `CREATE INDEX records_source ON ${s}.records (source) WHERE source IS NOT NULL`,
    `CREATE INDEX refs_src ON ${s}.refs (src)`,
  ],
]

/**
 * The rows sync_buckets should hold, computed from the records as migration 2 fills the table:
 * per bucket of the hlc column, the count and the id sum. What fsck checks the table against and
 * --repair rewrites it from. Each limb is summed as the signed bigint the cast gives (PostgreSQL
 * adds bigints in 128 bits), plus 2^64 for each negative one: no numeric per row, about 0.35 s per
 * 100k records against 0.5-0.6 s for migration 2's form. A row whose hlc column is not a stamp
 * belongs to no bucket, here as in sync's reads by hlc range (fsck reports its column), rather
 * than failing the whole check.
 */
export const bucketSums = (s: string): string => `SELECT bucket, count(*) AS n,
    mod(${[0, 1, 2, 3].map((i) => `(sum(l${i}) + ${LIMB} * count(*) FILTER (WHERE l${i} < 0)) * ${2n ** BigInt(64 * (3 - i))}`).join(' + ')}, ${MOD}) AS sum
  FROM (
    SELECT ('x' || lpad(substr(hlc, 1, 11), 16, '0'))::bit(64)::bigint AS bucket,
      ${[0, 1, 2, 3].map((i) => `('x' || encode(substr(id, ${i * 8 + 1}, 8), 'hex'))::bit(64)::bigint AS l${i}`).join(', ')}
    FROM ${s}.records WHERE hlc ~ '^[0-9a-f]{11}'
  ) AS limbs
  GROUP BY bucket`
