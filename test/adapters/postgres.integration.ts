import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import pg from 'pg'
import {PostgresStore} from '../../src/adapters/postgres/index.js'
import {UserError} from '../../src/core/errors.js'
import {storeContract} from '../contracts/store.js'
import {MemoryStore} from '../../src/adapters/memory.js'
import {assertion, many, stamp, testKey} from '../helpers/records.js'
import {bucketOf, idValue} from '../../src/core/bucket.js'
import {startPostgres, type PgServer} from '../helpers/pg-server.js'

let server: PgServer
let base: string
let n = 0

beforeAll(async () => {
  server = await startPostgres()
  base = await server.database()
})
afterAll(async () => {
  await server?.stop()
})

// Each test gets its own schema in one database: as isolated as a new database, and much faster.
storeContract('postgres', async () => {
  const schema = `contract_${process.pid}_${n++}`
  const url = `${base}?schema=${schema}`
  let store = await PostgresStore.open(url, {create: true})
  return {
    store,
    async reopen() {
      await store.close()
      store = await PostgresStore.open(url)
      return store
    },
    async tamper(sql) {
      const client = new pg.Client({connectionString: base})
      await client.connect()
      try {
        await client.query(`SET search_path TO ${schema}`)
        await client.query(sql)
      } finally {
        await client.end()
      }
      return store
    },
    async teardown() {
      await store.close().catch(() => undefined)
    },
  }
})

describe('PostgreSQL store: opening, bad input, text edge cases', () => {
  const schemaUrl = (name: string) => `${base}?schema=${name}_${process.pid}`
  const openErr = async (url: string, opts = {}) => {
    try {
      const s = await PostgresStore.open(url, opts)
      await s.close()
    } catch (e) {
      return e as UserError
    }
    throw new Error(`opening ${url} did not fail`)
  }

  it('prints its location without the password', async () => {
    const store = await PostgresStore.open(schemaUrl('loc'), {create: true})
    expect(store.location).toMatch(/^postgres:\/\/steme@127\.0\.0\.1:\d+\/\w+\?schema=loc_\d+$/)
    await store.close()
  })

  it('an unreachable server: a UserError naming the URL without password', async () => {
    const e = await openErr(base.replace(/:\d+\//, ':1/'))
    expect(e).toBeInstanceOf(UserError)
    expect(e.code).toBe('remote')
    expect(e.message).toMatch(/cannot reach the PostgreSQL server for postgres:\/\/steme@127\.0\.0\.1:1\//)
    expect(e.message + e.hint).not.toMatch(/:steme@/)
    expect(e.hint).toMatch(/server is running/)
  })

  it('wrong credentials: says so, and where the password goes', async () => {
    const e = await openErr(server.withPassword('wrong-secret'))
    expect(e).toBeInstanceOf(UserError)
    expect(e.code).toBe('unauthorized')
    expect(e.message).toMatch(/refused the login for postgres:\/\/steme@/)
    expect(e.message + e.hint).not.toContain('wrong-secret')
    expect(e.hint).toMatch(/PGPASSWORD/)
  })

  it('a database that does not exist, and one without the schema: points at steme init', async () => {
    const missing = await openErr(base.replace(/\/\w+$/, '/no_such_db'))
    expect(missing.code).toBe('no_store')
    expect(missing.message).toMatch(/no_such_db does not exist/)
    const bare = await openErr(schemaUrl('bare'))
    expect(bare.code).toBe('no_store')
    expect(bare.message).toMatch(/has no steme store/)
    // The ? of the schema parameter is a glob to a shell: the URL comes quoted.
    expect(bare.hint).toContain(`steme init --store 'postgres://steme@`)
    expect(bare.hint).toMatch(/\?schema=bare_\d+'`/)
    expect(bare.message + bare.hint).not.toMatch(/:steme@/)
  })

  it('a user without the privilege to create the store: says which grant is missing', async () => {
    const c = new pg.Client({connectionString: base})
    await c.connect()
    await c.query(`DROP ROLE IF EXISTS steme_weak; CREATE ROLE steme_weak LOGIN PASSWORD 'weak-pw'`)
    await c.end()
    const e = await openErr(base.replace(/\/\/[^@]*@/, '//steme_weak:weak-pw@') + `?schema=weak_${process.pid}`, {create: true})
    expect(e.code).toBe('forbidden')
    expect(e.message).toMatch(/lacks a privilege/)
    expect(e.hint).toMatch(/GRANT CREATE ON DATABASE/)
    expect(e.message + e.hint).not.toContain('weak-pw')
  })

  it('writing as a user that may only read, or to a server that takes no writes: a UserError saying so (exit 1), not a bug', async () => {
    const url = schemaUrl('readers')
    const schema = `readers_${process.pid}`
    const [readerRole, standbyRole] = [`steme_reader_${process.pid}`, `steme_standby_${process.pid}`]
    const owner = await PostgresStore.open(url, {create: true})
    await owner.insert(many(3))
    await owner.close()
    const c = new pg.Client({connectionString: base})
    await c.connect()
    await c.query(`DROP ROLE IF EXISTS ${readerRole}; CREATE ROLE ${readerRole} LOGIN PASSWORD 'reader-pw'`)
    await c.query(`GRANT USAGE ON SCHEMA ${schema} TO ${readerRole}; GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${readerRole}`)
    await c.query(`DROP ROLE IF EXISTS ${standbyRole}; CREATE ROLE ${standbyRole} LOGIN PASSWORD 'standby-pw' SUPERUSER; ALTER ROLE ${standbyRole} SET default_transaction_read_only = on`)
    await c.end()
    const as = (user: string, pw: string) => base.replace(/\/\/[^@]*@/, `//${user}:${pw}@`) + `?schema=${schema}`
    const reader = await PostgresStore.open(as(readerRole, 'reader-pw'))
    expect((await reader.stats()).records).toBe(3)
    const denied = (await reader.insert(many(5)).catch((e: unknown) => e)) as UserError
    await reader.close()
    expect(denied).toBeInstanceOf(UserError)
    expect(denied.code).toBe('forbidden')
    expect(denied.exit).toBe(1)
    expect(denied.message).toMatch(new RegExp(`^the PostgreSQL user of postgres://${readerRole}@[^ ]* lacks a privilege steme needs: permission denied`))
    expect(denied.hint).toMatch(/to write, also INSERT\/UPDATE on its tables and TEMPORARY on the database/)
    expect(denied.message + denied.hint).not.toContain('reader-pw')
    const standby = await PostgresStore.open(as(standbyRole, 'standby-pw'))
    const refused = (await standby.insert(many(5)).catch((e: unknown) => e)) as UserError
    await standby.close()
    expect(refused).toBeInstanceOf(UserError)
    expect(refused.exit).toBe(1)
    expect(refused.message).toMatch(new RegExp(`^the PostgreSQL server for postgres://${standbyRole}@[^ ]* takes no writes: cannot execute`))
    expect(refused.hint).toMatch(/primary/)
    expect(refused.message + refused.hint).not.toContain('standby-pw')
  })

  it('a batch refused part way leaves no aborted transaction on the pooled connection: the next statements say the same, or work', async () => {
    // A database of its own, where only the owner may create temporary tables.
    const dbUrl = await server.database()
    const owner = await PostgresStore.open(dbUrl, {create: true})
    await owner.insert(many(2))
    await owner.close()
    const c = new pg.Client({connectionString: dbUrl})
    await c.connect()
    const db = /\/([^/?]*)$/.exec(dbUrl)![1]
    const role = `steme_notemp_${process.pid}`
    await c.query(`DROP ROLE IF EXISTS ${role}; CREATE ROLE ${role} LOGIN PASSWORD 'notemp-pw'`)
    await c.query(`REVOKE TEMPORARY ON DATABASE ${db} FROM PUBLIC; GRANT USAGE ON SCHEMA steme TO ${role}; GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA steme TO ${role}`)
    await c.end()
    const store = await PostgresStore.open(dbUrl.replace(/\/\/[^@]*@/, `//${role}:notemp-pw@`), {connections: 1})
    for (let i = 0; i < 2; i++) {
      const e = (await store.insert(many(5)).catch((x: unknown) => x)) as UserError
      expect(e).toBeInstanceOf(UserError)
      expect(e.message).toMatch(/lacks a privilege steme needs: permission denied to create temporary tables/)
      expect(await store.getMeta('hlc')).toBeUndefined()
      expect((await store.stats()).records).toBe(2)
    }
    await store.close()
  })

  it('SSL asked of a server without it, and a certificate file that is not there: config errors that say so', async () => {
    const sep = base.includes('?') ? '&' : '?'
    const noSsl = await openErr(`${base}${sep}sslmode=verify-full`)
    expect(noSsl.code).toBe('config')
    expect(noSsl.message).toMatch(/^the PostgreSQL server for postgres:\/\/steme@[^ ]* does not accept SSL connections, and the URL's sslmode asks for SSL$/)
    expect(noSsl.hint).toMatch(/sslmode=disable/)
    const noFile = await openErr(`${base}${sep}sslrootcert=/nonexistent/steme-ca.pem`)
    expect(noFile.code).toBe('config')
    expect(noFile.message).toMatch(/a file its URL names cannot be read: ENOENT: no such file or directory, open '\/nonexistent\/steme-ca\.pem'/)
    expect(noFile.hint).toMatch(/sslrootcert/)
    const password = /\/\/[^:@/]*:([^@/]*)@/.exec(base)![1]
    for (const e of [noSsl, noFile]) expect(e.message + e.hint).not.toContain(`:${password}@`)
  })

  it('a schema from a newer steme: refuses and says to upgrade', async () => {
    const url = schemaUrl('newer')
    const s = await PostgresStore.open(url, {create: true})
    await s.close()
    const c = new pg.Client({connectionString: base})
    await c.connect()
    await c.query(`INSERT INTO newer_${process.pid}.schema_version (version) VALUES (99)`)
    await c.end()
    const e = await openErr(url)
    expect(e.code).toBe('config')
    expect(e.message).toMatch(/schema version 99, newer than this steme understands/)
    expect(e.hint).toMatch(/upgrade steme/)
  })

  it('several processes creating the same new store at once all succeed', async () => {
    const url = schemaUrl('race')
    const stores = await Promise.all([1, 2, 3, 4].map(() => PostgresStore.open(url, {create: true})))
    await stores[0].insert(many(10))
    expect((await stores[3].stats()).records).toBe(10)
    await Promise.all(stores.map((s) => s.close()))
  })

  it('writers on separate connections racing on the same records: each added once, fingerprints exact', async () => {
    const url = schemaUrl('racers')
    const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(url, {create: true, connections: 2})))
    const rs = Array.from({length: 600}, (_, i) => assertion({value: i, hlc: stamp(1_700_000_000_000 + i * 50_000, 0)}))
    const oracle = new MemoryStore()
    await oracle.insert(rs)
    // Each writer sends every record, in its own order and batch sizes.
    const orders = [rs, [...rs].reverse(), rs.filter((_, i) => i % 2).concat(rs.filter((_, i) => i % 2 === 0))]
    const results = await Promise.all(
      stores.map(async (s, w) => {
        let added = 0
        const size = [50, 77, 120][w]
        const parts = []
        for (let i = 0; i < orders[w].length; i += size) parts.push(s.insert(orders[w].slice(i, i + size)))
        for (const r of await Promise.all(parts)) added += r.added
        return added
      }),
    )
    expect(results.reduce((a, b) => a + b, 0)).toBe(600)
    expect((await stores[0].stats()).records).toBe(600)
    expect(await stores[1].bucketSums(0, 2 ** 44 - 1)).toEqual(await oracle.bucketSums(0, 2 ** 44 - 1))
    await Promise.all(stores.map((s) => s.close()))
  })

  it('keeps strings COPY and PostgreSQL text find awkward: tabs, newlines, backslashes, U+0000', async () => {
    const store = await PostgresStore.open(schemaUrl('text'), {create: true})
    const subjects = ['tab\there', 'line\nbreak\r', 'back\\slash\\N', 'nul\u0000byte', 'nul\uFFFDbyte', 'ünï😀']
    const rs = subjects.map((subject) => assertion({subject, source: subject, value: subject}))
    expect(await store.insert(rs)).toEqual({added: rs.length, present: 0})
    for (const [i, subject] of subjects.entries()) {
      const got = await store.assertions(subject)
      expect(got.map((a) => a.id)).toEqual([rs[i].record.id])
    }
    const [back] = await store.get([rs[3].record.id])
    expect(back.canonical).toBe(rs[3].canonical)
    await store.close()
  })

  it('upgrades a version-1 store, even when opened read-only: fills the sync buckets from the stored records', async () => {
    const url = schemaUrl('upgrade')
    const store = await PostgresStore.open(url, {create: true})
    await store.insert([...many(300), ...many(40, 4, testKey(3))])
    const want = await store.bucketSums(0, 2 ** 44 - 1)
    expect(want.length).toBeGreaterThan(0)
    await store.close()
    const c = new pg.Client({connectionString: base})
    await c.connect()
    const u = `upgrade_${process.pid}`
    await c.query(`DROP TABLE ${u}.sync_buckets; DROP INDEX ${u}.records_source, ${u}.refs_src; DELETE FROM ${u}.schema_version WHERE version >= 2`)
    await c.end()
    const upgraded = await PostgresStore.open(url, {readOnly: true})
    expect(await upgraded.bucketSums(0, 2 ** 44 - 1)).toEqual(want)
    await upgraded.close()
  })

  it('carries on after the server drops its connections (a restart, a failover, an admin)', async () => {
    const store = await PostgresStore.open(schemaUrl('drop'), {create: true})
    await store.insert(many(10))
    const c = new pg.Client({connectionString: base})
    await c.connect()
    const killed = await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'steme' AND pid <> pg_backend_pid()`)
    await c.end()
    expect(killed.rowCount).toBeGreaterThan(0)
    await new Promise((r) => setTimeout(r, 100))
    expect((await store.stats()).records).toBe(10)
    expect(await store.insert(many(12))).toEqual({added: 2, present: 10})
    await store.close()
  })

  it('a connection dropped in the middle of an insert fails that insert clearly, without crashing the process; the rerun adds it all', async () => {
    const url = schemaUrl('midinsert')
    const store = await PostgresStore.open(url, {create: true})
    const batch = many(50)
    // Another session holds an uncommitted copy of one of the batch's ids, so the insert waits
    // inside its transaction, on a checked-out connection, until that session ends.
    const holder = new pg.Client({connectionString: base})
    await holder.connect()
    await holder.query('BEGIN')
    const mid = batch[25]
    await holder.query(`INSERT INTO midinsert_${process.pid}.records (id, kind, agent, hlc, canonical, sig) VALUES ($1, 'assertion', 'a', $2, $3, $4)`, [
      Buffer.from(mid.record.id, 'hex'),
      mid.record.hlc,
      mid.canonical,
      Buffer.from(mid.record.sig, 'hex'),
    ])
    const uncaught: unknown[] = []
    const onUncaught = (e: unknown) => uncaught.push(e)
    process.on('uncaughtException', onUncaught)
    try {
      const pending = store.insert(batch).then(
        () => undefined,
        (e: unknown) => e,
      )
      const admin = new pg.Client({connectionString: base})
      await admin.connect()
      let killed = 0
      for (let i = 0; i < 200 && killed === 0; i++) {
        await new Promise((r) => setTimeout(r, 25))
        const {rows} = await admin.query(`SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE application_name = 'steme' AND wait_event_type = 'Lock'`)
        killed = rows.length
      }
      await admin.end()
      expect(killed).toBe(1)
      const err = (await pending) as UserError
      await new Promise((r) => setTimeout(r, 100))
      expect(uncaught).toEqual([])
      expect(err).toBeInstanceOf(UserError)
      expect(err.message).toMatch(/^lost the connection to the PostgreSQL server for postgres:\/\/steme@[^ ]*: terminating connection/)
      expect(err.hint).toMatch(/run the command again \(signed records already stored are skipped; plain facts/)
      const password = /\/\/[^:@/]*:([^@/]*)@/.exec(base)![1]
      expect(`${err.message} ${err.hint}`).not.toContain(`:${password}@`)
    } finally {
      process.off('uncaughtException', onUncaught)
      await holder.query('ROLLBACK')
      await holder.end()
    }
    // Nothing of the failed batch was committed, and running it again adds every record once.
    expect((await store.stats()).records).toBe(0)
    expect(await store.insert(batch)).toEqual({added: 50, present: 0})
    await store.close()
  })

  it('a scan whose connection is dropped between two fetches fails with the lost connection, not as a bug', async () => {
    const store = await PostgresStore.open(schemaUrl('midscan'), {create: true})
    await store.insert(many(10))
    const it = store.scan({batch: 2})[Symbol.asyncIterator]()
    expect((await it.next()).value).toHaveLength(2)
    const admin = new pg.Client({connectionString: base})
    await admin.connect()
    const {rows} = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'steme' AND state = 'idle in transaction'`)
    await admin.end()
    expect(rows).toHaveLength(1)
    await new Promise((r) => setTimeout(r, 100))
    const err = (await it.next().catch((e: unknown) => e)) as UserError
    expect(err).toBeInstanceOf(UserError)
    expect(err.message).toMatch(/^lost the connection to the PostgreSQL server for postgres:\/\/steme@/)
    // The store carries on with a fresh connection.
    expect((await store.stats()).records).toBe(10)
    await store.close()
  })

  it('copies batches of large records (several MiB of COPY data)', async () => {
    const store = await PostgresStore.open(schemaUrl('large'), {create: true})
    const big = Array.from({length: 40}, (_, i) => assertion({subject: `big:${i % 3}`, value: 'x\t'.repeat(20_000) + i}))
    expect(await store.insert(big)).toEqual({added: 40, present: 0})
    const got = await store.get(big.map((b) => b.record.id))
    expect(new Set(got.map((g) => g.canonical))).toEqual(new Set(big.map((b) => b.canonical)))
    await store.close()
  })

  it('refuses writes when open read-only', async () => {
    const url = schemaUrl('ro')
    await (await PostgresStore.open(url, {create: true})).close()
    const store = await PostgresStore.open(url, {readOnly: true})
    await expect(store.insert(many(1))).rejects.toThrow(/read-only/)
    await store.close()
  })
})

describe('PostgreSQL store: fsck repair', () => {
  const schemaUrl = (name: string) => `${base}?schema=${name}_${process.pid}`
  /** SQL on a store's schema from a connection of its own, as an administrator (or another writer) would. */
  async function session(name: string): Promise<pg.Client> {
    const c = new pg.Client({connectionString: base})
    await c.connect()
    await c.query(`SET search_path TO ${name}_${process.pid}`)
    return c
  }

  it('is one transaction: a repair that fails part way leaves every table as it was', async () => {
    const store = await PostgresStore.open(schemaUrl('repair_tx'), {create: true})
    const base0 = assertion({subject: 't:base', hlc: stamp(1_700_000_000_000, 1)})
    const gone = assertion({subject: 't:gone', evidence: [base0.record.id], hlc: stamp(1_700_000_000_000, 2)})
    await store.insert([base0, gone])
    const c = await session('repair_tx')
    // A constraint the recount breaks, added without checking the rows already there.
    await c.query(`DELETE FROM records WHERE subject = 't:gone'; UPDATE records SET subject = 't:evil' WHERE subject = 't:base';
      ALTER TABLE sync_buckets ADD CONSTRAINT no_recount CHECK (n > 1) NOT VALID`)
    await c.end()
    const before = await store.derivedProblems()
    expect(before.map((p) => p.table)).toEqual(['refs', 'sync_buckets'])
    await expect(store.repairDerived([base0.record])).rejects.toThrow(/no_recount/)
    expect(await store.derivedProblems()).toEqual(before)
    const mismatches: unknown[] = []
    for await (const b of store.scan({columns: true})) for (const s of b) mismatches.push(s.mismatches)
    expect(mismatches).toEqual([[{column: 'subject', stored: 't:evil', expected: 't:base'}]])
    await store.close()
  })

  it('a writer adding to a bucket while the repair recounts is neither lost nor counted twice', async () => {
    const store = await PostgresStore.open(schemaUrl('repair_race'), {create: true})
    const first = assertion({subject: 't:a', hlc: stamp(1_700_000_000_000, 1)})
    const late = assertion({subject: 't:b', hlc: stamp(1_700_000_000_000, 2)})
    await store.insert([first])
    // A writer's transaction as insert runs it, held open: the record added, its bucket counted, not committed.
    const writer = await session('repair_race')
    await writer.query('BEGIN')
    await writer.query(
      `INSERT INTO records (id, kind, agent, hlc, subject, predicate, canonical, sig) VALUES (decode($1, 'hex'), 'assertion', $2, $3, $4, $5, $6, decode($7, 'hex'))`,
      [late.record.id, late.record.agent, late.record.hlc, 't:b', (late.record as {predicate: string}).predicate, late.canonical, late.record.sig],
    )
    await writer.query(`INSERT INTO sync_buckets AS b (bucket, n, sum) VALUES ($1, 1, $2) ON CONFLICT (bucket) DO UPDATE SET n = b.n + excluded.n, sum = mod(b.sum + excluded.sum, ${2n ** 256n})`, [
      String(bucketOf(late.record.hlc)),
      idValue(late.record.id).toString(),
    ])
    const repair = store.repairDerived([])
    // Wait until the repair waits on the writer, then let the writer commit.
    const watch = await session('repair_race')
    for (let i = 0; i < 200; i++) {
      const {rows} = await watch.query<{n: string}>(`SELECT count(*) AS n FROM pg_locks WHERE NOT granted`)
      if (Number(rows[0].n) > 0) break
      await new Promise((r) => setTimeout(r, 25))
    }
    await watch.end()
    await writer.query('COMMIT')
    await writer.end()
    await repair
    expect(await store.derivedProblems()).toEqual([])
    expect((await store.bucketSums(0, 2 ** 44 - 1)).map((b) => b.count)).toEqual([2])
    await store.close()
  })

  it('writes the text columns as inserts do (U+0000 held as U+FFFD)', async () => {
    const store = await PostgresStore.open(schemaUrl('repair_nul'), {create: true})
    const a = assertion({subject: 's:nul\u0000x', predicate: 'p\u0000', source: 'doi:\u0000'})
    await store.insert([a])
    const c = await session('repair_nul')
    await c.query(`UPDATE records SET subject = 'x', predicate = 'y', source = NULL`)
    await c.end()
    expect(await store.repairDerived([a.record])).toEqual({records: 1, refsRemoved: 0, buckets: 0})
    for await (const b of store.scan({columns: true})) for (const s of b) expect(s.mismatches).toBeUndefined()
    expect((await store.assertions('s:nul\u0000x')).map((r) => r.id)).toEqual([a.record.id])
    await store.close()
  })
})
