/**
 * A lean read path over @duckdb/node-bindings: VARCHAR-only results decoded by hand. The
 * full @duckdb/node-api costs ~60 ms to load, more than a whole query; commands that only
 * read (query, show, log) never load it, and writers load it on first use.
 */
import {createRequire} from 'node:module'
import type * as Bindings from '@duckdb/node-bindings'

export const duck = createRequire(import.meta.url)('@duckdb/node-bindings') as typeof Bindings
export type Param = string | Uint8Array

const decoder = new TextDecoder()

export async function openDatabase(path: string, readOnly: boolean): Promise<Bindings.Database> {
  const config = duck.create_config()
  if (readOnly) duck.set_config(config, 'access_mode', 'READ_ONLY')
  return duck.open(path, config)
}

/** Run a query whose result columns are all VARCHAR; rows as arrays of strings (null for SQL NULL). */
export async function queryStrings(conn: Bindings.Connection, sql: string, params: readonly Param[] = []): Promise<(string | null)[][]> {
  const stmt = await duck.prepare(conn, sql)
  try {
    params.forEach((p, i) => (typeof p === 'string' ? duck.bind_varchar(stmt, i + 1, p) : duck.bind_blob(stmt, i + 1, p)))
    const result = await duck.execute_prepared(stmt)
    const rows: (string | null)[][] = []
    for (;;) {
      const chunk = await duck.fetch_chunk(result)
      if (!chunk) break
      const n = duck.data_chunk_get_size(chunk)
      if (n === 0) break
      const cols = duck.data_chunk_get_column_count(chunk)
      const base = rows.length
      for (let r = 0; r < n; r++) rows.push(new Array(cols))
      for (let c = 0; c < cols; c++) {
        const vector = duck.data_chunk_get_vector(chunk, c)
        const data = duck.vector_get_data(vector, n * 16)
        const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
        const words = Math.ceil(n / 64)
        const validity = duck.vector_get_validity(vector, words * 8) as Uint8Array | null
        for (let r = 0; r < n; r++) {
          if (validity && !(validity[r >> 3] & (1 << (r & 7)))) {
            rows[base + r][c] = null
            continue
          }
          // duckdb_string_t: 4-byte length, then 12 inline bytes or a 4-byte prefix and a pointer.
          const off = r * 16
          const len = view.getUint32(off, true)
          const bytes = len <= 12 ? new Uint8Array(data.buffer, data.byteOffset + off + 4, len) : duck.get_data_from_pointer(data.buffer as ArrayBuffer, data.byteOffset + off + 8, len)
          rows[base + r][c] = decoder.decode(bytes)
        }
      }
    }
    return rows
  } finally {
    duck.destroy_prepare_sync(stmt)
  }
}
