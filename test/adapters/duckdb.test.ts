import {createHash} from 'node:crypto'
import {cpSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DuckDBStore, PrefixBits, lockHolder} from '../../src/adapters/duckdb/index.js'
import {afterAll, describe, expect, it} from 'vitest'
import {storeContract} from '../contracts/store.js'
import {ColumnBuilder} from '../../src/ops/ingest-check.js'
import {assertion, record, stamp, testKey} from '../helpers/records.js'
import {MemoryStore} from '../../src/adapters/memory.js'
import type {Json} from '../../src/core/record.js'
import type {Sealed} from '../../src/core/seal.js'

/**
 * An empty store made once by DuckDBStore.open with create, and closed: a test that needs a new
 * store opens a copy of its files. Making a store syncs the file to disk several times over (its
 * schema, its checkpoint), which on a busy machine cost each of the fifty-odd tests here more
 * than the rest of its work; the copy is the same file. The tests below that are about making a
 * store (its format, its storage, its threads) still make their own.
 */
let empty: string | undefined
async function newStore(dir: string): Promise<string> {
  if (!empty) {
    const made = mkdtempSync(join(tmpdir(), 'steme-duck-empty-'))
    await (await DuckDBStore.open(join(made, 'store.duckdb'), {create: true})).close()
    empty = made
  }
  cpSync(empty, dir, {recursive: true})
  return join(dir, 'store.duckdb')
}
afterAll(() => {
  if (empty) rmSync(empty, {recursive: true, force: true})
})

/** Run `fn` against a fresh DuckDB store in a temp dir, then close and remove it. */
async function withStore(prefix: string, fn: (store: DuckDBStore) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const store = await DuckDBStore.open(await newStore(dir), {create: true})
  try {
    await fn(store)
  } finally {
    await store.close()
    rmSync(dir, {recursive: true, force: true})
  }
}

const EVIDENCE = 'ab'.repeat(32)
const sealedAssertions = (n: number) => Array.from({length: n}, (_, i) => assertion({subject: `s:${i}`, value: i, evidence: [EVIDENCE]}))

storeContract('duckdb', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'steme-duck-'))
  const path = await newStore(dir)
  let store = await DuckDBStore.open(path, {create: true})
  return {
    store,
    async reopen() {
      await store.close()
      store = await DuckDBStore.open(path)
      return store
    },
    async tamper(sql) {
      await store.close()
      const {DuckDBInstance} = await import('@duckdb/node-api')
      const db = await DuckDBInstance.create(path)
      const conn = await db.connect()
      await conn.run(sql)
      conn.closeSync()
      db.closeSync()
      store = await DuckDBStore.open(path)
      return store
    },
    async teardown() {
      await store.close().catch(() => undefined)
      rmSync(dir, {recursive: true, force: true})
    },
  }
})

describe('duckdb appender hygiene', () => {
  it('a batch rolled back on a duplicate key leaves no appender rows for garbage collection to replay', () =>
    withStore('steme-duck-gc-', async (store) => {
      const recs = sealedAssertions(40)
      expect(await store.insert(recs.slice(0, 10))).toEqual({added: 10, present: 0})
      // Fresh-looking batch that overlaps: the appender's flush fails on the primary key and the
      // store falls back to the membership query.
      expect(await store.insert(recs.slice(5, 20))).toEqual({added: 10, present: 5})
      const gc = (globalThis as {gc?: () => void}).gc
      expect(gc, 'tests run with --expose-gc (vitest.config.ts)').toBeTypeOf('function')
      for (let i = 0; i < 3; i++) {
        gc!()
        await new Promise((r) => setTimeout(r, 10))
      }
      expect(await store.insert(recs.slice(20, 40))).toEqual({added: 20, present: 0})
      expect((await store.stats()).records).toBe(40)
      // Every record cites EVIDENCE once: one refs edge each, none replayed.
      const conn = (store as unknown as {conn: {runAndReadAll(sql: string): Promise<{getRows(): unknown[][]}>}}).conn
      const rows = (await conn.runAndReadAll('SELECT count(*)::INTEGER FROM refs')).getRows()
      expect(rows[0]![0]).toBe(40)
    }))
})

describe('PrefixBits', () => {
  it('never misses an added id, and rarely claims one it has not seen', () => {
    const bits = new PrefixBits()
    const hex = (i: number) => createHash('sha256').update(String(i)).digest('hex')
    const added = Array.from({length: 5000}, (_, i) => hex(i))
    for (const id of added) bits.add(id)
    for (const id of added) expect(bits.has(id)).toBe(true)
    const others = Array.from({length: 5000}, (_, i) => hex(100_000 + i)).filter((id) => bits.has(id))
    // 5,000 of 2^26 slots set: a stranger collides with probability ~1e-4.
    expect(others.length).toBeLessThan(10)
    // Something that is not an id still gets the same answer on add and lookup.
    expect(bits.has('not-hex')).toBe(false)
    bits.add('not-hex')
    expect(bits.has('not-hex')).toBe(true)
    // parseInt reads a sign: the key must still land inside the bitmap.
    bits.add('-123456789')
    expect(bits.has('-123456789')).toBe(true)
  })
})

describe('duckdb referencing prefilter', () => {
  it('a long-lived reader skips ids nothing points at, and still sees every pointer stored before or after', () =>
    withStore('steme-duck-ref-', async (store) => {
      const [a1, a2, a3, a4] = [1, 2, 3, 4].map((i) => assertion({subject: 's', value: i}))
      const vote = record({kind: 'vote', target: a1.record.id, weight: 1})
      const derived = assertion({subject: 't', value: 0, evidence: [a2.record.id]})
      await store.insert([a1, a2, a3, a4, vote, derived])
      const ids = (rs: {id: string}[]) => rs.map((r) => r.id).sort()
      // Enough calls to look like a daemon; the prefilter is built under the write lock.
      for (let i = 0; i < 10; i++) await store.referencing([a3.record.id, a4.record.id])
      await store.setMeta('queued-behind-the-build', '1')
      expect((store as unknown as {pointed?: unknown}).pointed, 'prefilter built').toBeDefined()
      expect((store as unknown as {targeted?: unknown}).targeted, 'records with a target held in memory').toBeDefined()
      expect(ids(await store.referencing([a1.record.id]))).toEqual([vote.record.id])
      expect(ids(await store.referencing([a2.record.id]))).toEqual([derived.record.id])
      expect(ids(await store.referencing([a2.record.id, a1.record.id]))).toEqual(ids([vote.record, derived.record]))
      expect(await store.referencing([a3.record.id, a4.record.id])).toEqual([])
      // Pointers written after the build are found too: a retraction by target, a supersedes edge.
      const retract = record({kind: 'retract', target: a3.record.id})
      const newer = assertion({subject: 's', value: 5, supersedes: [a4.record.id]})
      await store.insert([retract, newer])
      // The column path (a fresh batch, as ingest sends) lands in memory too.
      const vote3 = record({kind: 'vote', target: a2.record.id, weight: 1})
      const cols = new ColumnBuilder(1)
      cols.add(vote3)
      await store.insertColumns([cols.done()])
      expect(ids(await store.referencing([a2.record.id]))).toEqual(ids([derived.record, vote3.record]))
      expect(ids(await store.referencing([a3.record.id, a1.record.id]))).toEqual(ids([retract.record, vote.record]))
      expect(ids(await store.referencing([a4.record.id]))).toEqual([newer.record.id])
      // A batch repeating stored records adds nothing twice.
      const vote2 = record({kind: 'vote', target: a3.record.id, weight: -1})
      await store.insert([vote2, vote, retract])
      expect(ids(await store.referencing([a3.record.id]))).toEqual(ids([retract.record, vote2.record]))
      expect(ids(await store.referencing([a1.record.id]))).toEqual([vote.record.id])
    }))
})

describe('duckdb referencing while the prefilter is built', () => {
  it('lookups issued while the in-memory copies load still see every pointer', () =>
    withStore('steme-duck-ref-race-', async (store) => {
      const targets = Array.from({length: 30}, (_, i) => assertion({subject: 's', value: i}))
      const votes = targets.map((t) => record({kind: 'vote', target: t.record.id, weight: 1}))
      await store.insert([...targets, ...votes])
      for (let i = 0; i < 7; i++) await store.referencing([targets[0].record.id])
      // The 8th call starts the build in the background; lookups keep starting while it loads.
      const built = () => (store as unknown as {targeted?: unknown}).targeted !== undefined
      let during = 0
      for (let i = 0; i < 20_000 && !built(); i++, during++) {
        expect((await store.referencing([targets[i % 30].record.id])).map((x) => x.id), `call ${i}`).toEqual([votes[i % 30].record.id])
      }
      expect(during, 'lookups ran while the copies loaded').toBeGreaterThan(1)
      expect(built(), 'records with a target held in memory').toBe(true)
      expect((await store.referencing([targets[5].record.id])).map((x) => x.id)).toEqual([votes[5].record.id])
    }))
})

describe('duckdb reads during writes', () => {
  it('stats and cascade reads issued while batches are being appended neither fail nor break the appends', () =>
    withStore('steme-duck-rw-', async (store) => {
      // Ten appends of 400, each its own flush and commit, made while both readers keep a query going.
      const recs = Array.from({length: 4_000}, (_, i) => assertion({subject: `rw:${i % 500}`, value: i, evidence: [EVIDENCE]}))
      // Readers that keep a query in flight on the store the whole time the batches go in.
      let done = false
      const failures: string[] = []
      const reader = async (read: () => Promise<unknown>) => {
        while (!done) await read().catch((e: unknown) => failures.push(String(e)))
      }
      const readers = [reader(() => store.stats()), reader(() => store.cascadeGraph({ids: [recs[0]!.record.id]}))]
      for (let i = 0; i < recs.length; i += 400) {
        await store.insert(recs.slice(i, i + 400)).catch((e: unknown) => failures.push(String(e)))
      }
      done = true
      await Promise.all(readers)
      expect(failures).toEqual([])
      expect((await store.stats()).records).toBe(recs.length)
    }))
})

describe('duckdb lean reader', () => {
  it('returns VARCHAR as text, BLOB as lowercase hex (inline and out-of-line), NULL as null, over several chunks', async () => {
    const {openDatabase, queryStrings, duck} = await import('../../src/adapters/duckdb/lean.js')
    const db = await openDatabase(':memory:', false, 1)
    const conn = await duck.connect(db)
    try {
      const rows = await queryStrings(
        conn,
        `SELECT 'é' || i::VARCHAR, CASE WHEN i % 3 = 0 THEN NULL ELSE from_hex(lpad(printf('%x', i), 4, '0') || repeat('AB', i % 20)) END FROM range(3000) t(i) ORDER BY i`,
      )
      expect(rows).toHaveLength(3000)
      for (const i of [0, 1, 5, 11, 12, 13, 2047, 2048, 2999]) {
        const hex = i.toString(16).padStart(4, '0') + 'ab'.repeat(i % 20)
        expect(rows[i]).toEqual([`é${i}`, i % 3 === 0 ? null : hex])
      }
    } finally {
      duck.disconnect_sync(conn)
      duck.close_sync(db)
    }
  })

  it('reads BIGINT as numbers and HUGEINT as bigints from the result memory, VARCHAR as bytes on request, and refuses other types', async () => {
    const {openDatabase, Reader, duck} = await import('../../src/adapters/duckdb/lean.js')
    const db = await openDatabase(':memory:', false, 1)
    const reader = new Reader([await duck.connect(db)])
    try {
      // Negative, above 2^64 and below -2^64, over several chunks, with NULLs.
      const rows = await reader.values(
        `SELECT i::BIGINT - 1500, CASE WHEN i % 7 = 0 THEN NULL ELSE (i::HUGEINT - 1500) * 36893488147419103232::HUGEINT + i END FROM range(3000) t(i) ORDER BY i`,
      )
      expect(rows).toHaveLength(3000)
      for (const i of [0, 1, 6, 7, 1499, 1500, 1501, 2047, 2048, 2999]) {
        expect(rows[i]).toEqual([i - 1500, i % 7 === 0 ? null : (BigInt(i) - 1500n) * 36893488147419103232n + BigInt(i)])
      }
      const [[line]] = await reader.bytes(`SELECT 'é' || repeat('x', 20)`)
      expect(Buffer.from(line!).toString('utf8')).toBe('é' + 'x'.repeat(20))
      const [[short]] = await reader.bytes(`SELECT 'é'`)
      expect(Buffer.from(short!).toString('utf8')).toBe('é')
      await expect(reader.values(`SELECT 1.5::DOUBLE`)).rejects.toThrow(/cast it to VARCHAR/)
    } finally {
      reader.close()
      duck.close_sync(db)
    }
  })

  it('reads stored values of every length, runs of them and NULLs between, the same as one at a time', async () => {
    const {openDatabase, Reader, duck} = await import('../../src/adapters/duckdb/lean.js')
    const dir = mkdtempSync(join(tmpdir(), 'steme-duck-cells-'))
    const db = await openDatabase(join(dir, 'cells.duckdb'), false, 1)
    const reader = new Reader([await duck.connect(db)])
    try {
      // Lengths 0 to 40 (inline up to 12, out of line above), NULLs, over several chunks; stored
      // and checkpointed, so they come back from the table's storage, not from an expression.
      await reader.values(`CREATE TABLE t (i BIGINT, s VARCHAR, b BLOB)`)
      await reader.values(`INSERT INTO t SELECT i, CASE WHEN i % 11 = 0 THEN NULL ELSE repeat(chr((97 + i % 26)::INTEGER), i % 41) END, CASE WHEN i % 13 = 0 THEN NULL ELSE from_hex(repeat(printf('%02x', i % 256), i % 37)) END FROM range(5000) t(i)`)
      await reader.values('CHECKPOINT')
      const rows = await reader.bytes('SELECT s, b FROM t ORDER BY i')
      expect(rows).toHaveLength(5000)
      for (let i = 0; i < 5000; i++) {
        const s = i % 11 === 0 ? null : String.fromCharCode(97 + (i % 26)).repeat(i % 41)
        const b = i % 13 === 0 ? null : Buffer.from(i.toString(16).padStart(2, '0').slice(-2).repeat(i % 37), 'hex').toString('hex')
        expect([rows[i][0] === null ? null : Buffer.from(rows[i][0]!).toString('utf8'), rows[i][1]]).toEqual([s, b])
      }
    } finally {
      reader.close()
      duck.close_sync(db)
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('gathers fixed-width blobs per hex key, whatever the row order, and refuses other shapes', async () => {
    const {openDatabase, Reader, duck} = await import('../../src/adapters/duckdb/lean.js')
    const db = await openDatabase(':memory:', false, 1)
    const reader = new Reader([await duck.connect(db)])
    try {
      await reader.values(`CREATE TABLE t AS SELECT i, printf('%011x', (i * 7919) % 53) AS k, from_hex(sha256(i::VARCHAR)) AS id FROM range(6000) t(i)`)
      const got = await reader.blobsByKey(`SELECT k, id FROM t`, [], 32)
      const want = new Map<number, string[]>()
      for (let i = 0; i < 6000; i++) {
        const k = (i * 7919) % 53
        const id = createHash('sha256').update(String(i)).digest('hex')
        want.set(k, [...(want.get(k) ?? []), id])
      }
      expect([...got.keys()].sort((a, b) => a - b)).toEqual([...want.keys()].sort((a, b) => a - b))
      for (const [k, ids] of want) {
        const list = got.get(k)!
        expect(list.length).toBe(ids.length * 32)
        const hex: string[] = []
        for (let j = 0; j < list.length; j += 32) hex.push(Buffer.from(list.subarray(j, j + 32)).toString('hex'))
        expect(hex.sort()).toEqual([...ids].sort())
      }
      await expect(reader.blobsByKey(`SELECT k, from_hex('abcd') FROM t`, [], 32)).rejects.toThrow(/32-byte blob/)
      await expect(reader.blobsByKey(`SELECT 'xyz', from_hex(sha256('a')) FROM t`, [], 32)).rejects.toThrow(/hex digits/)
      await expect(reader.blobsByKey(`SELECT k, i FROM t`, [], 32)).rejects.toThrow(/VARCHAR, BLOB/)
      // Blobs of 12 bytes or less are held inline in DuckDB's vectors, not back to back: refused.
      await expect(reader.blobsByKey(`SELECT k, from_hex('abcd') FROM t`, [], 2)).rejects.toThrow(/longer than 12 bytes/)
      // A read that failed part-way through its streamed rows leaves the reader usable.
      expect((await reader.blobsByKey(`SELECT k, id FROM t`, [], 32)).size).toBe(want.size)
    } finally {
      reader.close()
      duck.close_sync(db)
    }
  })

  it('a store opened with one DuckDB thread writes and answers the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steme-duck-threads-'))
    const records = sealedAssertions(30)
    let store = await DuckDBStore.open(join(dir, 'store.duckdb'), {create: true, threads: 1})
    try {
      await store.insert(records)
      await store.close()
      store = await DuckDBStore.open(join(dir, 'store.duckdb'), {readOnly: true, threads: 1})
      expect((await store.assertions('s:7')).map((a) => a.id)).toEqual([records[7].record.id])
      expect((await store.get([records[3].record.id])).map((s) => s.canonical)).toEqual([records[3].canonical])
    } finally {
      await store.close()
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('duckdb storage', () => {
  it('writes subject, id and sig uncompressed: subject index hits are cheap to fetch row by row, ids and signatures do not compress', async () => {
    const {openDatabase, queryStrings, duck} = await import('../../src/adapters/duckdb/lean.js')
    const dir = mkdtempSync(join(tmpdir(), 'steme-duck-fsst-'))
    const path = join(dir, 'store.duckdb')
    // Long, repetitive canonical bodies: what FSST is chosen for by default.
    const records = Array.from({length: 4000}, (_, i) => assertion({subject: `item:${i % 400}`, predicate: 'description', value: `a long and repetitive description of item number ${i % 400}`, source: `src:${i % 50}`}))
    const store = await DuckDBStore.open(path, {create: true})
    try {
      await store.insert(records)
    } finally {
      await store.close()
    }
    const db = await openDatabase(path, true)
    const conn = await duck.connect(db)
    try {
      const rows = await queryStrings(conn, `SELECT column_name, compression FROM pragma_storage_info('records') WHERE segment_type = 'VARCHAR' AND compression <> 'Constant'`)
      expect(rows.filter((r) => r[0] === 'subject').map((r) => r[1])).toEqual(['Uncompressed'])
      // id and sig: random bytes, stored as they are (no compression analysis at checkpoints).
      const blobs = await queryStrings(conn, `SELECT DISTINCT column_name, compression FROM pragma_storage_info('records') WHERE segment_type = 'BLOB' ORDER BY 1`)
      expect(blobs).toEqual([
        ['id', 'Uncompressed'],
        ['sig', 'Uncompressed'],
      ])
      // The rest keeps DuckDB's choice: FSST (DICT_FSST in the 1.5 format) for the long canonical bodies.
      expect(rows.filter((r) => r[0] === 'canonical').map((r) => r[1])).toContainEqual(expect.stringMatching(/FSST/))
      expect((await queryStrings(conn, `SELECT count(*)::VARCHAR FROM records WHERE subject = 'item:7'`))[0][0]).toBe('10')
    } finally {
      duck.disconnect_sync(conn)
      duck.close_sync(db)
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('duckdb storage format', () => {
  const storageVersion = async (path: string): Promise<string | null> => {
    const {openDatabase, queryStrings, duck} = await import('../../src/adapters/duckdb/lean.js')
    const db = await openDatabase(path, true)
    const conn = await duck.connect(db)
    try {
      const rows = await queryStrings(conn, `SELECT tags['storage_version'] FROM duckdb_databases() WHERE NOT internal AND database_name NOT IN ('memory', 'temp', 'system')`)
      return rows[0][0]
    } finally {
      duck.disconnect_sync(conn)
      duck.close_sync(db)
    }
  }

  it("writes stores in DuckDB 1.5's format (no index conversion to the 1.0 layout at each checkpoint); old-format files keep working", async () => {
    const {STORAGE_VERSION, duck} = await import('../../src/adapters/duckdb/lean.js')
    const dir = mkdtempSync(join(tmpdir(), 'steme-duck-format-'))
    try {
      const path = join(dir, 'store.duckdb')
      const store = await DuckDBStore.open(path, {create: true})
      await store.insert([assertion({subject: 's', predicate: 'p', value: 1})])
      await store.close()
      expect(await storageVersion(path)).toBe(`${STORAGE_VERSION}+`)

      // A file in DuckDB's default (1.0) format, as older steme wrote them, still opens and answers.
      const old = join(dir, 'old.duckdb')
      const db = await duck.open(old)
      duck.close_sync(db)
      expect(await storageVersion(old)).toBe('v1.0.0+')
      const reopened = await DuckDBStore.open(old, {create: true})
      const r = assertion({subject: 'old', predicate: 'p', value: 2})
      await reopened.insert([r])
      expect((await reopened.assertions('old')).map((a) => a.id)).toEqual([r.record.id])
      await reopened.close()
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('duckdb checkpoints', () => {
  it('a writer checkpoints at 128 MiB of WAL (a checkpoint rewrites the indexes of the whole table), readers keep the default', async () => {
    const {CHECKPOINT_THRESHOLD, openDatabase, queryStrings, duck} = await import('../../src/adapters/duckdb/lean.js')
    const dir = mkdtempSync(join(tmpdir(), 'steme-duck-ckpt-'))
    const path = join(dir, 'store.duckdb')
    const setting = async (readOnly: boolean) => {
      const db = await openDatabase(path, readOnly)
      const conn = await duck.connect(db)
      try {
        return (await queryStrings(conn, `SELECT current_setting('checkpoint_threshold')::VARCHAR`))[0][0]
      } finally {
        duck.disconnect_sync(conn)
        duck.close_sync(db)
      }
    }
    try {
      expect(CHECKPOINT_THRESHOLD).toBe('128MiB')
      expect(await setting(false)).toBe('128.0 MiB')
      expect(await setting(true)).toBe('16.0 MiB')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('duckdb subject lookups under load', () => {
  it('lookups issued together (batched into IN queries) answer exactly as one at a time, repeats and filters included', () =>
    withStore('steme-duck-batch-', async (store) => {
      const recs = Array.from({length: 300}, (_, i) =>
        assertion({subject: `s:${i % 30}`, predicate: i % 2 ? 'p' : 'q', value: i, hlc: stamp(1_700_000_000_000 + i, 0)}),
      )
      await store.insert(recs)
      const asks: Array<[string, string | undefined, string | undefined]> = []
      for (let i = 0; i < 60; i++) asks.push([`s:${i % 33}`, i % 3 === 0 ? 'p' : undefined, i % 5 === 0 ? stamp(1_700_000_000_150, 0) : undefined])
      const alone: string[][] = []
      for (const [s, p, u] of asks) alone.push((await store.assertions(s, p, u)).map((a) => a.id))
      const together = await Promise.all(asks.map(([s, p, u]) => store.assertions(s, p, u)))
      expect(together.map((list) => list.map((a) => a.id))).toEqual(alone)
      // Subjects s:30..s:32 hold nothing; the rest hold 10 records, fewer when filtered.
      expect(alone[30]).toEqual([])
      expect(alone[1]).toHaveLength(10)
      // A subject asked twice in one batch gets objects of its own.
      const [a, b] = await Promise.all([store.assertions('s:4'), store.assertions('s:4'), store.assertions('s:5'), store.assertions('s:6')])
      expect(a.map((x) => x.id)).toEqual(b.map((x) => x.id))
      expect(a[0]).not.toBe(b[0])
    }))
})

describe('duckdb fsck repair', () => {
  it('is one transaction: a repair that fails part way leaves every table as it was', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steme-duck-repair-'))
    const path = join(dir, 'store.duckdb')
    let store = await DuckDBStore.open(path, {create: true})
    try {
      const base = assertion({subject: 't:base', hlc: stamp(1_700_000_000_000, 1)})
      const gone = assertion({subject: 't:gone', evidence: [base.record.id], hlc: stamp(1_700_000_000_000, 2)})
      await store.insert([base, gone])
      await store.close()
      // A record deleted and a column changed behind the store's back, and sync_buckets turned
      // into a view, which the repair's last step cannot write.
      const {DuckDBInstance} = await import('@duckdb/node-api')
      const db = await DuckDBInstance.create(path)
      const conn = await db.connect()
      await conn.run(`DELETE FROM records WHERE subject = 't:gone'; UPDATE records SET subject = 't:evil' WHERE subject = 't:base';
        ALTER TABLE sync_buckets RENAME TO sync_buckets_kept; CREATE VIEW sync_buckets AS SELECT * FROM sync_buckets_kept`)
      conn.closeSync()
      db.closeSync()
      store = await DuckDBStore.open(path)
      const before = await store.derivedProblems()
      expect(before.map((p) => p.table)).toEqual(['refs', 'sync_buckets'])
      await expect(store.repairDerived([base.record])).rejects.toThrow(/Can only delete from base table/)
      // The column fix and the refs deletion that ran before the failure were rolled back.
      expect(await store.derivedProblems()).toEqual(before)
      const mismatches: unknown[] = []
      for await (const b of store.scan({columns: true})) for (const s of b) mismatches.push(s.mismatches)
      expect(mismatches).toEqual([[{column: 'subject', stored: 't:evil', expected: 't:base'}]])
      // The write connection is usable after the rollback.
      await store.setMeta('after', 'rollback')
      expect(await store.getMeta('after')).toBe('rollback')
    } finally {
      await store.close().catch(() => undefined)
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('a long-lived reader sees the edges a repair wrote: its in-memory copy of what is pointed at is dropped', () =>
    withStore('steme-duck-repair-ref-', async (store) => {
      const base = assertion({subject: 's', value: 1})
      const cites = assertion({subject: 't', value: 2, evidence: [base.record.id]})
      await store.insert([base, cites])
      const conn = (store as unknown as {conn: {run(sql: string): Promise<unknown>}}).conn
      await conn.run('DELETE FROM refs')
      // Built from the damaged table: nothing points at base.
      for (let i = 0; i < 10; i++) await store.referencing([base.record.id])
      await store.setMeta('queued-behind-the-build', '1')
      expect((store as unknown as {pointed?: unknown}).pointed, 'prefilter built').toBeDefined()
      expect(await store.repairDerived([cites.record])).toEqual({records: 1, refsRemoved: 0, buckets: 0})
      expect((await store.referencing([base.record.id])).map((r) => r.id)).toEqual([cites.record.id])
    }))
})

describe('duckdb scans in hlc order', () => {
  type Internals = {scanRange: number; conn: {run(sql: string): Promise<unknown>; runAndReadAll(sql: string): Promise<{getRows(): unknown[][]}>}; instance: {connect(): Promise<{runAndReadAll(sql: string): Promise<{getRows(): unknown[][]}>; stream(sql: string): Promise<{yieldRowObjectJs(): AsyncIterable<unknown[]>}>; closeSync(): void}>}}
  const inside = (store: DuckDBStore) => store as unknown as Internals
  const ids = async (store: DuckDBStore, opts: Parameters<DuckDBStore['scan']>[0] = {}) => {
    const out: string[] = []
    for await (const b of store.scan({batch: 7, ...opts})) for (const s of b) out.push(s.record.id)
    return out
  }

  it('read in ranges of the hlc column, give the rows of one sort: stored out of order, in big and small buckets, sharing stamps, and with an hlc column that is no stamp', () =>
    withStore('steme-duck-ranges-', async (store) => {
      const keys = [1, 2, 3].map((n) => testKey(n))
      const base = 1_700_000_000_000
      const rs = [
        // Small buckets, a minute apart (a bucket is ~17.5 minutes).
        ...Array.from({length: 60}, (_, i) => assertion({subject: `m:${i}`, value: i, hlc: stamp(base + i * 60_000, 0)}, keys[i % 3])),
        // One bucket with hundreds, split by 4 s and then by millisecond prefixes.
        ...Array.from({length: 300}, (_, i) => assertion({subject: `b:${i}`, value: i, hlc: stamp(base + 3_600_000 + (i % 40) * 37, i % 5)}, keys[i % 3])),
        // Many records stamped alike by different agents: ties broken by id.
        ...Array.from({length: 30}, (_, i) => assertion({subject: `t:${i}`, value: i, hlc: stamp(base + 7_200_000, 0)}, keys[i % 3])),
      ]
      // Stored out of hlc order, in several batches.
      const shuffled = [...rs].sort((a, b) => (a.record.id < b.record.id ? -1 : 1))
      for (let i = 0; i < shuffled.length; i += 50) await store.insert(shuffled.slice(i, i + 50))
      // A row whose hlc column is damaged (what fsck reports) is still read, where one sort puts it.
      await inside(store).conn.run(`UPDATE records SET hlc = 'zz-not-a-stamp' WHERE id = unhex('${rs[5].record.id}')`)
      await inside(store).conn.run(`UPDATE records SET hlc = '0' WHERE id = unhex('${rs[6].record.id}')`)
      const sorted = async (where = '') =>
        (await inside(store).conn.runAndReadAll(`SELECT lower(hex(id)) FROM records ${where} ORDER BY hlc, id`)).getRows().map((r) => String(r[0]))
      const all = await sorted()
      for (const range of [1_000_000, 25, 4]) {
        inside(store).scanRange = range
        expect(await ids(store), `ranges of ${range}`).toEqual(all)
        const since = rs[80].record.hlc
        const until = rs[200].record.hlc
        expect(await ids(store, {since}), `--since, ranges of ${range}`).toEqual(await sorted(`WHERE hlc > '${since}'`))
        expect(await ids(store, {since, until}), `since and until, ranges of ${range}`).toEqual(await sorted(`WHERE hlc > '${since}' AND hlc <= '${until}'`))
        expect(await ids(store, {limit: 33}), `limit, ranges of ${range}`).toEqual(all.slice(0, 33))
        expect(await ids(store, {since, limit: 100}), `since and limit, ranges of ${range}`).toEqual((await sorted(`WHERE hlc > '${since}'`)).slice(0, 100))
        // After a record inside the run of 30 sharing one stamp: the rest of the run, then on.
        const tie = rs[375].record
        expect(await ids(store, {after: tie}), `after, ranges of ${range}`).toEqual(all.slice(all.indexOf(tie.id) + 1))
        expect(await ids(store, {after: tie, limit: 4}), `after and limit, ranges of ${range}`).toEqual(all.slice(all.indexOf(tie.id) + 1, all.indexOf(tie.id) + 5))
      }
      // In any order (fsck): every record once.
      expect((await ids(store, {anyOrder: true})).sort()).toEqual([...all].sort())
    }))

  it('read a range at a time: DuckDB sorts about one range before the first rows, not the whole store', () =>
    withStore('steme-duck-range-mem-', async (store) => {
      // 6,000 records of ~2 KB: one sort of them all holds ~12 MiB.
      const pad = 'x'.repeat(2000)
      const rs = Array.from({length: 6000}, (_, i) => assertion({subject: `s:${i}`, value: `${pad}${i}`, hlc: stamp(1_700_000_000_000 + i * 1000, 0)}))
      for (let i = 0; i < rs.length; i += 1000) await store.insert(rs.slice(i, i + 1000))
      inside(store).scanRange = 500
      const probe = await inside(store).instance.connect()
      const sortMemory = async () => Number((await probe.runAndReadAll(`SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'ORDER_BY'`)).getRows()[0][0])
      try {
        let seen = 0
        let during = 0
        for await (const b of store.scan({batch: 100})) {
          if (seen === 0) during = await sortMemory()
          seen += b.length
        }
        // What one sort of the whole store holds when its first rows come, for scale.
        const other = await inside(store).instance.connect()
        const first = await (await other.stream('SELECT lower(hex(id)) AS id, canonical, lower(hex(sig)) AS sig FROM records ORDER BY hlc, id')).yieldRowObjectJs()[Symbol.asyncIterator]().next()
        expect(first.done).toBe(false)
        const one = await sortMemory()
        other.closeSync()
        expect(one).toBeGreaterThan(8 * 2 ** 20)
        expect(seen).toBe(rs.length)
        expect(during).toBeLessThan(one / 4)
      } finally {
        probe.closeSync()
      }
    }))
})

describe('duckdb bounded scans read by row id', () => {
  type Internals = {
    scanRange: number
    topNMax: number
    fetchRows: number
    conn: {run(sql: string): Promise<unknown>; runAndReadAll(sql: string): Promise<{getRows(): unknown[][]}>}
    instance: {connect(): Promise<{runAndReadAll(sql: string): Promise<{getRows(): unknown[][]}>; closeSync(): void}>}
  }
  const inside = (store: DuckDBStore) => store as unknown as Internals
  const ids = async (store: DuckDBStore, opts: Parameters<DuckDBStore['scan']>[0] = {}) => {
    const out: string[] = []
    for await (const b of store.scan({batch: 5, ...opts})) for (const s of b) out.push(s.record.id)
    return out
  }

  it('give the records of one sort, each once, at every limit: sorted in one top-N or in ranges, fetched a few or many at a time, stored in and out of clock order, sharing stamps, with damaged stamps', () =>
    withStore('steme-duck-rowid-', async (store) => {
      const keys = [1, 2, 3].map((n) => testKey(n))
      const base = 1_700_000_000_000
      const rs = [
        ...Array.from({length: 60}, (_, i) => assertion({subject: `m:${i}`, value: i, hlc: stamp(base + i * 60_000, 0)}, keys[i % 3])),
        ...Array.from({length: 200}, (_, i) => assertion({subject: `b:${i}`, value: i, hlc: stamp(base + 3_600_000 + (i % 40) * 37, i % 5)}, keys[i % 3])),
        // A run stamped alike by different agents: ties broken by id.
        ...Array.from({length: 30}, (_, i) => assertion({subject: `t:${i}`, value: i, hlc: stamp(base + 7_200_000, 0)}, keys[i % 3])),
      ]
      // Most stored out of hlc order (row ids that do not fill their span), the last 100 in it.
      const later = Array.from({length: 100}, (_, i) => assertion({subject: `l:${i}`, value: i, hlc: stamp(base + 9_000_000 + i * 1000, 0)}, keys[i % 3]))
      const shuffled = [...rs].sort((a, b) => (a.record.id < b.record.id ? -1 : 1))
      for (let i = 0; i < shuffled.length; i += 50) await store.insert(shuffled.slice(i, i + 50))
      await store.insert(later)
      await inside(store).conn.run(`UPDATE records SET hlc = 'zz-not-a-stamp' WHERE id = unhex('${rs[5].record.id}')`)
      await inside(store).conn.run(`UPDATE records SET hlc = '0' WHERE id = unhex('${rs[6].record.id}')`)
      const sorted = async (where = '') =>
        (await inside(store).conn.runAndReadAll(`SELECT lower(hex(id)) FROM records ${where} ORDER BY hlc, id`)).getRows().map((r) => String(r[0]))
      const all = await sorted()
      expect(all).toHaveLength(390)
      const since = rs[80].record.hlc
      const until = later[50].record.hlc
      const tie = rs[275].record
      const cases: Array<[string, Parameters<DuckDBStore['scan']>[0], string[]]> = [
        ['all', {}, all],
        ['since', {since}, await sorted(`WHERE hlc > '${since}'`)],
        ['since and until', {since, until}, await sorted(`WHERE hlc > '${since}' AND hlc <= '${until}'`)],
        ['after a record in the run of shared stamps', {after: tie}, all.slice(all.indexOf(tie.id) + 1)],
        ['after the first', {after: {hlc: '0', id: rs[6].record.id}}, all.slice(1)],
        ['after the last', {after: {hlc: 'zz-not-a-stamp', id: rs[5].record.id}}, []],
      ]
      for (const [scanRange, topNMax, fetchRows] of [
        [150_000, 5000, 1024],
        [25, 3, 3],
        [4, 3, 1],
        [150_000, 3, 7],
      ]) {
        Object.assign(inside(store), {scanRange, topNMax, fetchRows})
        for (const [what, opts, expected] of cases) {
          const whole = await ids(store, opts)
          expect(whole, `${what}, unbounded`).toEqual(expected)
          for (const limit of [1, 3, 4, 30, 31, 389, 391]) {
            expect(await ids(store, {...opts, limit}), `${what}, limit ${limit}, ranges of ${scanRange}, top-N to ${topNMax}, ${fetchRows} fetched at once`).toEqual(expected.slice(0, limit))
          }
        }
      }
      expect(await ids(store, {limit: 0})).toEqual([])
    }))

  it('a page holds only row ids sorted in DuckDB while its records come, not the records', () =>
    withStore('steme-duck-rowid-mem-', async (store) => {
      // 6,000 records of ~2 KB: a sort of a 5,000-record page of them holds ~10 MiB.
      const pad = 'x'.repeat(2000)
      const rs = Array.from({length: 6000}, (_, i) => assertion({subject: `s:${i}`, value: `${pad}${i}`, hlc: stamp(1_700_000_000_000 + (i % 3000) * 1000, 0)}))
      for (let i = 0; i < rs.length; i += 1000) await store.insert(rs.slice(i, i + 1000))
      const probe = await inside(store).instance.connect()
      const memory = async () => Number((await probe.runAndReadAll(`SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag IN ('ORDER_BY', 'HASH_TABLE')`)).getRows()[0][0])
      try {
        for (const limit of [5000, 5900]) {
          let seen = 0
          let most = 0
          for await (const b of store.scan({limit, batch: 100})) {
            most = Math.max(most, await memory())
            seen += b.length
          }
          expect(seen).toBe(limit)
          expect(most, `a page of ${limit}`).toBeLessThan(2 * 2 ** 20)
        }
      } finally {
        probe.closeSync()
      }
    }))
})

describe('duckdb reads contested pairs in ranges of (subject, predicate)', () => {
  type Internals = {
    contestedRange: number
    db: unknown
    conn: {run(sql: string): Promise<unknown>}
    instance: {connect(): Promise<{runAndReadAll(sql: string): Promise<{getRows(): unknown[][]}>; stream(sql: string): Promise<{yieldRowObjectJs(): AsyncIterable<unknown[]>}>; closeSync(): void}>}
    pairRanges(conn: unknown, scope: string, params: string[]): Promise<Array<{from?: [string, string]; to?: [string, string]}>>
  }
  const inside = (store: DuckDBStore) => store as unknown as Internals
  const read = async (store: DuckDBStore | MemoryStore, until?: string) => {
    const {pairs, batches} = await store.contested({until, batch: 5})
    const groups: string[][] = []
    const targeted: string[] = []
    const elsewhere: string[] = []
    for await (const b of batches) {
      for (const g of b.groups) groups.push(g.map((a) => a.id))
      // The memory store also flags assertions of pairs it then drops (one value): only the batch's count.
      const held = new Set(b.groups.flat().map((a) => a.id))
      targeted.push(...[...b.targeted].filter((id) => held.has(id)))
      elsewhere.push(...[...b.supersededElsewhere].filter((id) => held.has(id)))
    }
    // Pairs come in any order; each pair's assertions in (hlc, id) order.
    return {pairs, groups: groups.sort((a, b) => (a[0] < b[0] ? -1 : 1)), targeted: targeted.sort(), elsewhere: elsewhere.sort()}
  }
  const ranges = async (store: DuckDBStore) => {
    const {duck} = await import('../../src/adapters/duckdb/lean.js')
    const conn = await duck.connect(inside(store).db as Parameters<typeof duck.connect>[0])
    try {
      return await inside(store).pairRanges(conn, '', [])
    } finally {
      duck.disconnect_sync(conn)
    }
  }

  /** Pairs of every shape, in keys whose order in UTF-16 (JS) and in bytes (DuckDB) differ. */
  function pairsStore(): Sealed[] {
    const keys = [1, 2, 3].map((n) => testKey(n))
    const out: Sealed[] = []
    let t = 0
    const add = (subject: string, predicate: string, values: Json[], extra: Partial<Parameters<typeof assertion>[0]> = {}) => {
      for (const value of values) out.push(assertion({subject, predicate, value, hlc: stamp(1_700_000_000_000 + (t++ % 97) * 1000, t % 3), ...extra}, keys[t % 3]))
    }
    const subjects = [...Array.from({length: 30}, (_, i) => `s:${i}`), 'a', 'a\u0000', 'a\u0000b', 'é', 'z', '\uFFFF', '\u{1F600}', '\u{1F600}x', 'S', ' ']
    subjects.forEach((s, i) => {
      add(s, 'p', [1, 2, i % 2 ? 2 : 3])
      add(s, 'q', [true, true])
      if (i % 3 === 0) add(s, 'p\u00e9', ['x', 'y'])
      if (i % 4 === 0) add(s, '\u{1F600}', [{value: 1}, {value: 1, b: 2}])
      if (i % 5 === 0) add(s, 'lone', [5])
    })
    // One subject over many ranges, and one pair bigger than a range.
    for (let p = 0; p < 12; p++) add('big', `p${p}`, [p, p + 1, p])
    add('huge', 'p', Array.from({length: 40}, (_, i) => i % 4))
    // Votes and a retraction aimed at some candidates; assertions about other pairs superseding some.
    const cands = out.filter((s) => s.record.kind === 'assertion' && s.record.subject !== 'huge')
    for (let i = 0; i < cands.length; i += 17) out.push(record({kind: 'vote', target: cands[i].record.id, weight: 1, hlc: stamp(1_700_000_050_000, i)}))
    out.push(record({kind: 'retract', target: cands[5].record.id, hlc: stamp(1_700_000_060_000, 0)}))
    // Of pairs contested on p (three values, two distinct): flagged wherever their pair is read.
    const onP = cands.filter((s) => s.record.kind === 'assertion' && s.record.predicate === 'p')
    add('other', 'p', [7], {supersedes: [onP[3].record.id, onP[40].record.id]})
    add('s:1', 'p', [9], {supersedes: [onP[3].record.id]})
    return out
  }

  it('cover every pair exactly once at any range size, as the memory store hands them over: bounds inside a subject, keys with NUL and beyond U+FFFF, pairs bigger than a range, until', () =>
    withStore('steme-duck-contested-ranges-', async (store) => {
      const records = pairsStore()
      const memory = new MemoryStore()
      await memory.insert(records)
      for (let i = 0; i < records.length; i += 60) await store.insert(records.slice(i, i + 60))
      const assertions = records.filter((s) => s.record.kind === 'assertion').length
      const until = stamp(1_700_000_048_000, 0)
      const want = await read(memory)
      const wantEarly = await read(memory, until)
      expect(want.groups.length).toBeGreaterThan(60)
      expect(want.targeted.length).toBeGreaterThan(5)
      expect(want.elsewhere.length).toBe(2)
      for (const range of [1_000_000, 64, 10, 3, 1]) {
        inside(store).contestedRange = range
        // Many ranges (at most one per key): the bounds are exercised, not only the open ends.
        if (range < 100) expect((await ranges(store)).length, `ranges of ${range}`).toBeGreaterThan(Math.min(100, assertions / range / 2))
        expect(await read(store), `ranges of ${range}`).toEqual(want)
        expect(await read(store, until), `until, ranges of ${range}`).toEqual(wantEarly)
      }
      // The bounds fall inside subjects: one subject's pairs are read in several ranges.
      inside(store).contestedRange = 10
      const bounds = (await ranges(store)).map((r) => r.to?.[0])
      expect(bounds.filter((s) => s === 'big').length).toBeGreaterThan(1)
    }))

  it('count the pairs of damaged rows whose subject or predicate column is NULL, as one DISTINCT would', () =>
    withStore('steme-duck-contested-null-', async (store) => {
      const records = pairsStore()
      await store.insert(records)
      const victims = records.filter((s) => s.record.kind === 'assertion').slice(0, 6)
      await inside(store).conn.run(`UPDATE records SET predicate = NULL WHERE id IN (${victims.slice(0, 3).map((s) => `unhex('${s.record.id}')`).join(',')})`)
      await inside(store).conn.run(`UPDATE records SET subject = NULL WHERE id IN (${victims.slice(3).map((s) => `unhex('${s.record.id}')`).join(',')})`)
      const probe = await inside(store).instance.connect()
      const distinct = Number((await probe.runAndReadAll(`SELECT count(*) FROM (SELECT DISTINCT subject, predicate FROM records WHERE kind = 'assertion')`)).getRows()[0][0])
      probe.closeSync()
      const whole = await read(store)
      expect(whole.pairs).toBe(distinct)
      for (const range of [10, 1]) {
        inside(store).contestedRange = range
        expect(await read(store), `ranges of ${range}`).toEqual(whole)
      }
    }))

  it('sort about one range at a time: DuckDB holds a fraction of one whole sort when the first pairs come', () =>
    withStore('steme-duck-contested-mem-', async (store) => {
      // 6,000 assertions of ~2 KB in 3,000 two-valued pairs: one sort of them all holds ~12 MiB.
      const pad = 'x'.repeat(2000)
      const rs = Array.from({length: 6000}, (_, i) => assertion({subject: `s:${i >> 1}`, predicate: 'p', value: `${pad}${i}`, hlc: stamp(1_700_000_000_000 + i * 1000, 0)}))
      for (let i = 0; i < rs.length; i += 1000) await store.insert(rs.slice(i, i + 1000))
      inside(store).contestedRange = 500
      const probe = await inside(store).instance.connect()
      const sortMemory = async () => Number((await probe.runAndReadAll(`SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'ORDER_BY'`)).getRows()[0][0])
      try {
        let pairs = 0
        let during = 0
        for await (const b of (await store.contested({batch: 100})).batches) {
          if (pairs === 0) during = await sortMemory()
          pairs += b.groups.length
        }
        // What one sort of every contested assertion holds when its first rows come, for scale.
        const other = await inside(store).instance.connect()
        const first = await (await other.stream(`SELECT id, canonical FROM records WHERE kind = 'assertion' ORDER BY subject, predicate`)).yieldRowObjectJs()[Symbol.asyncIterator]().next()
        expect(first.done).toBe(false)
        const one = await sortMemory()
        other.closeSync()
        expect(pairs).toBe(3000)
        expect(one).toBeGreaterThan(8 * 2 ** 20)
        expect(during).toBeLessThan(one / 4)
      } finally {
        probe.closeSync()
      }
    }))
})

describe('who holds a store', () => {
  const msg = 'IO Error: Could not set lock on file "/srv/x.duckdb": Conflicting lock is held in /usr/bin/node (PID 4242). See also https://duckdb.org/docs/stable/connect/concurrency'
  const argv = (...a: string[]) => () => a.join('\0') + '\0'

  it('names a steme holder by its command, never by the rest of its command line', () => {
    expect(lockHolder(msg, argv('node', '/usr/bin/steme', 'pull', 'https://h', '--token', 'stm_secret'))).toEqual({text: 'pid 4242: steme pull', steme: true})
    expect(lockHolder(msg, argv('/usr/bin/node', 'bin/run.js', '--store', '/srv', 'ingest', 'x.ndjson'))).toEqual({text: 'pid 4242: steme ingest', steme: true})
    expect(lockHolder(msg, argv('node', '/opt/steme/bin/run.js', 'sync-serve', '--stdio', '--store', '/srv'))).toEqual({text: 'pid 4242: steme sync-serve', steme: true})
    expect(lockHolder(msg, argv('node', '/usr/bin/steme'))).toEqual({text: 'pid 4242: steme', steme: true})
  })

  it('names another program by its path, and a holder it cannot look at by its pid', () => {
    expect(lockHolder(msg, argv('duckdb', '/srv/x.duckdb'))).toEqual({text: 'pid 4242: /usr/bin/node', steme: false})
    expect(
      lockHolder(msg, () => {
        throw new Error('ENOENT')
      }),
    ).toEqual({text: 'pid 4242', steme: false})
    expect(lockHolder('IO Error: Could not set lock on file "/srv/x.duckdb": Resource temporarily unavailable')).toBeUndefined()
  })
})
