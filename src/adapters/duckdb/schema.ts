/** DuckDB schema and its migrations: each entry moves the store up one version, in a transaction. */

export const SCHEMA_VERSION = 2

/** MIGRATIONS[n] upgrades a store from version n to n + 1. */
export const MIGRATIONS: string[][] = [
  [
    `CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
    // Records verbatim (canonical body + signature) plus typed columns for queries. Ids are
    // 32-byte BLOBs: a hex VARCHAR key nearly triples the file and halves ingest.
    `CREATE TABLE IF NOT EXISTS records (
      id BLOB PRIMARY KEY,
      kind VARCHAR NOT NULL,
      agent VARCHAR NOT NULL,
      hlc VARCHAR NOT NULL,
      subject VARCHAR,
      predicate VARCHAR,
      target VARCHAR,
      source VARCHAR,
      canonical VARCHAR NOT NULL,
      sig BLOB NOT NULL
    )`,
    // evidence and supersedes edges, so "what cites this" and cascades are index lookups.
    `CREATE TABLE IF NOT EXISTS refs (src BLOB NOT NULL, dst VARCHAR NOT NULL, rel VARCHAR NOT NULL)`,
    `CREATE INDEX IF NOT EXISTS records_subject ON records (subject)`,
    `CREATE INDEX IF NOT EXISTS records_target ON records (target)`,
    `CREATE INDEX IF NOT EXISTS refs_dst ON refs (dst)`,
  ],
  // 2: source lookups, for retractions by source and the seeds of their cascade.
  [`CREATE INDEX IF NOT EXISTS records_source ON records (source)`],
]
