/** A PostgreSQL store used as a team uses it: two servers on one machine, the server going away under a running command. */
import {writeFileSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import pg from 'pg'
import {initHash} from '../../src/core/hash.js'
import {openRuntime} from '../../src/runtime.js'
import {recordLine, type Sealed} from '../../src/core/seal.js'
import {sandbox, type Sandbox} from '../helpers/cli.js'
import {startPostgres, type PgServer} from '../helpers/pg-server.js'
import {assertion, stamp, testKey} from '../helpers/records.js'

let server: PgServer
let db: string
let sb: Sandbox

beforeAll(async () => {
  await initHash()
  server = await startPostgres()
  db = await server.database()
  sb = sandbox('steme-pg-team-')
})
afterAll(async () => {
  sb?.cleanup()
  await server?.stop()
})

const ndjson = (rs: readonly Sealed[]) => rs.map((s) => recordLine(s.canonical, s.record.id, s.record.sig)).join('\n') + '\n'

function records(agent: number, n: number): Sealed[] {
  const key = testKey(agent)
  return Array.from({length: n}, (_, i) => assertion({subject: `s:${agent}:${i % 100}`, predicate: 'p', value: i, hlc: stamp(1_700_000_000_000 + i, agent)}, key))
}

/**
 * Ends the session of a steme process as a restart or an admin would, once it has been seen
 * running `like` twice over (two statements finished, so the command is under way); how many it ended.
 */
async function endSessionUnderWay(like: string, until: Promise<unknown>): Promise<number> {
  const c = new pg.Client({connectionString: server.url})
  await c.connect()
  let done = false
  void until.finally(() => (done = true))
  const seen = new Map<number, Set<string>>()
  try {
    while (!done) {
      const {rows} = await c.query<{pid: number; at: string}>(
        `SELECT pid, state_change::text AS at FROM pg_stat_activity WHERE application_name = 'steme' AND state = 'idle in transaction' AND query LIKE $1`,
        [like],
      )
      for (const {pid, at} of rows) {
        const times = seen.get(pid) ?? new Set<string>()
        seen.set(pid, times.add(at))
        if (times.size >= 2) {
          const ended = await c.query<{ok: boolean}>('SELECT pg_terminate_backend($1) AS ok', [pid])
          return ended.rows[0].ok ? 1 : 0
        }
      }
      await new Promise((r) => setTimeout(r, 10))
    }
    return 0
  } finally {
    await c.end()
  }
}

describe('a PostgreSQL store whose server goes away under a command', () => {
  it('fsck whose scan loses the server says so (exit 1), rather than crash on the chunks it was checking', {timeout: 300_000}, async () => {
    const url = `${db}?schema=fsck_lost`
    expect(sb.run(['init', '--store', url]).code).toBe(0)
    expect(sb.run(['ingest', '-', '--store', url], {input: ndjson(records(3, 40_000))}).code).toBe(0)
    // The scan waits for the verification workers, so its cursor is read while chunks are being checked.
    const run = sb.runAsync(['fsck', '--store', url])
    const ended = await endSessionUnderWay('FETCH FORWARD % FROM steme_scan', run)
    const r = await run
    expect(ended, `fsck finished before its scan could be cut: ${r.code} ${r.stdout} ${r.stderr}`).toBe(1)
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/^error: lost the connection to the PostgreSQL server for postgres:\/\/steme@[^ ]*\?schema=fsck_lost: /)
    expect(r.stderr).not.toMatch(/BugError|worker .* exited|    at /)
    // The store is whole, and fsck run again passes.
    const again = sb.run(['fsck', '--store', url])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toBe('40000 records checked, 0 bad\n')
  })
})

describe('ingest when the server goes away', () => {
  it('a batch cut by an admin closing the database: the ingest says the connection was lost and what to rerun, not that saving its clock failed', {timeout: 300_000}, async () => {
    const name = `${db.split('/').pop()}_gone`
    const url = await server.database(name)
    expect(sb.run(['init', '--store', url]).code).toBe(0)
    // Plain facts, which a rerun would store again: the hint that says so must reach the user.
    const facts = Array.from({length: 60_000}, (_, i) => JSON.stringify({subject: `s:${i % 500}`, predicate: 'p', value: i})).join('\n') + '\n'
    const run = sb.runAsync(['ingest', '-', '--store', url, '--json'], {input: facts})
    const c = new pg.Client({connectionString: server.url})
    await c.connect()
    try {
      let done = false
      void run.finally(() => (done = true))
      // Once an insert is under way, the database stops taking connections and its sessions end.
      for (;;) {
        const {rows} = await c.query<{n: number}>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'steme' AND query LIKE 'WITH ins AS%'`, [name])
        if (rows[0].n > 0 || done) break
        await new Promise((r) => setTimeout(r, 10))
      }
      expect(done, 'the ingest ended before an insert was seen').toBe(false)
      await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`)
      await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'steme'`, [name])
      const r = await run
      expect(r.code, r.stderr).toBe(1)
      const {error} = JSON.parse(r.stdout) as {error: {message: string; hint: string}}
      expect(error.message).toMatch(/^lost the connection to the PostgreSQL server for postgres:\/\/steme@[^ ]*: terminating connection/)
      expect(error.hint).toContain('plain facts are signed anew on each ingest')
    } finally {
      await c.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`)
      await c.end()
    }
  })
})

describe('ingest cut part way, said with what it had done', () => {
  it('the --json error carries the progress (added, present, rejected, the last line stored), and going on from that line stores every fact once', {timeout: 300_000}, async () => {
    const name = `${db.split('/').pop()}_cut`
    const url = await server.database(name)
    expect(sb.run(['init', '--store', url]).code).toBe(0)
    // Three append transactions of plain facts (65,536 rows each), every value its line number, and one line rejected.
    const n = 150_000
    const lines = Array.from({length: n}, (_, i) => (i === 9 ? '{"subject": "s:x"}' : JSON.stringify({subject: `s:${i % 500}`, predicate: 'p', value: i + 1})))
    const file = `${sb.dir}/cut.ndjson`
    writeFileSync(file, lines.join('\n') + '\n')
    const run = sb.runAsync(['ingest', file, '--store', url, '--json'])
    const c = new pg.Client({connectionString: url})
    await c.connect()
    let cut = false
    try {
      let done = false
      void run.finally(() => (done = true))
      // Once a transaction is committed and the next one is under way, the server goes away.
      while (!done) {
        const {rows} = await c.query<{stored: number; inserting: number}>(
          `SELECT (SELECT count(*)::int FROM steme.records) AS stored, (SELECT count(*)::int FROM pg_stat_activity WHERE datname = $1 AND application_name = 'steme' AND query LIKE 'WITH ins AS%' AND state <> 'idle') AS inserting`,
          [name],
        )
        if (rows[0].stored > 0 && rows[0].inserting > 0) {
          await c.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'steme'`, [name])
          cut = true
          break
        }
        await new Promise((r) => setTimeout(r, 5))
      }
    } finally {
      await c.end()
    }
    const r = await run
    expect(cut, `the ingest ended before a second transaction was seen: ${r.code} ${r.stdout} ${r.stderr}`).toBe(true)
    expect(r.code, r.stderr).toBe(1)
    const {error} = JSON.parse(r.stdout) as {error: {message: string; hint: string; progress: {added: number; present: number; rejected: number; lastLine?: number}}}
    expect(error.message).toMatch(/^lost the connection to the PostgreSQL server/)
    const {progress} = error
    const count = async (sql: string) => {
      const k = new pg.Client({connectionString: url})
      await k.connect()
      try {
        return (await k.query(sql)).rows[0] as Record<string, number>
      } finally {
        await k.end()
      }
    }
    const stored = (await count('SELECT count(*)::int AS n FROM steme.records')).n
    expect(progress.added).toBe(stored)
    expect(progress.present).toBe(0)
    expect(progress.rejected).toBeGreaterThanOrEqual(1)
    // Stored is the input up to lastLine, less the one line rejected there: nothing after it.
    expect(progress.lastLine).toBe(stored + 1)
    expect(error.hint).toContain(`before the failure: ${stored} added, 0 already present, ${progress.rejected} rejected; every line up to ${progress.lastLine} of ${file} was stored or rejected, and none after it stored: to go on, tail -n +${progress.lastLine! + 1} ${file} | steme ingest --format ndjson --store '${url.replace(/:[^:@/]+@/, ':***@')}' -`)
    // Going on as the hint says (into the same store, which it names, its password left out) stores the rest, and no fact twice.
    const rest = sb.run(['ingest', '-', '--format', 'ndjson', '--store', url], {input: lines.slice(progress.lastLine).join('\n') + '\n'})
    expect(rest.code, rest.stderr).toBe(0)
    expect(await count(`SELECT count(*)::int AS n, count(DISTINCT canonical::jsonb->'value')::int AS distinct FROM steme.records`)).toEqual({n: n - 1, distinct: n - 1})
  })
})

describe('a database that is not a steme store', () => {
  it.each([
    // Flyway before 5 kept its history there; its versions are text.
    ['flyway_app', 'CREATE TABLE flyway_app.schema_version (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL); INSERT INTO flyway_app.schema_version VALUES (1, \'1\', \'init\'), (2, \'1.2\', \'users\')'],
    // Another tool's integer versions, below steme's: read as steme's, they would run steme's upgrades there.
    ['int_app', 'CREATE TABLE int_app.schema_version (version integer PRIMARY KEY, note text NOT NULL); INSERT INTO int_app.schema_version VALUES (1, \'a\'), (2, \'b\')'],
  ])('a schema_version table that is not steme\'s (%s): init says so (exit 2), opening too, and changes nothing', async (schema, ddl) => {
    const url = await server.database(`${db.split('/').pop()}_${schema}`)
    const c = new pg.Client({connectionString: url})
    await c.connect()
    try {
      await c.query(`CREATE SCHEMA ${schema}; ${ddl}`)
      const before = (await c.query(`SELECT * FROM ${schema}.schema_version ORDER BY 1`)).rows
      const store = `${url}?schema=${schema}`
      for (const args of [['init', '--store', store], ['stats', '--store', store]]) {
        const r = sb.run(args)
        expect({args, code: r.code}).toEqual({args, code: 2})
        expect(r.stderr).toMatch(new RegExp(`^error: schema "${schema}" of postgres://steme@[^ ]* holds a schema_version table that is not steme's`))
        expect(r.stderr).toContain('hint: nothing was changed; keep the store in a schema of its own')
        expect(r.stderr).not.toMatch(/internal error|:steme@/)
      }
      const {rows} = await c.query<{t: string}>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, [schema])
      expect(rows.map((x) => x.t)).toEqual(['schema_version'])
      expect((await c.query(`SELECT * FROM ${schema}.schema_version ORDER BY 1`)).rows).toEqual(before)
    } finally {
      await c.end()
    }
  })

  it('init into a schema holding another application\'s tables: says so and which schema to use instead (exit 2), changing nothing', async () => {
    const url = await server.database(`${db.split('/').pop()}_app`)
    const c = new pg.Client({connectionString: url})
    await c.connect()
    try {
      await c.query(`CREATE SCHEMA steme; CREATE TABLE steme.refs (account int); INSERT INTO steme.refs VALUES (42)`)
      const r = sb.run(['init', '--store', url])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^error: cannot create a steme store in schema "steme" of postgres:\/\/steme@[^ ]*: it already holds tables that are not steme's \(relation "refs" already exists\)\n/)
      const hinted = /such as '([^']*)'/.exec(r.stderr)?.[1]
      expect(hinted).toMatch(/^postgres:\/\/steme@[^ ]*\?schema=steme_store$/)
      expect(r.stderr).not.toMatch(/:steme@/)
      // Nothing of steme's was left in the schema, and the application's row is there.
      const {rows} = await c.query<{t: string}>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'steme' ORDER BY 1`)
      expect(rows.map((x) => x.t)).toEqual(['refs'])
      expect((await c.query('SELECT account FROM steme.refs')).rows).toEqual([{account: 42}])
      // The schema the hint names takes the store.
      expect(sb.run(['init', '--store', hinted!], {env: {PGPASSWORD: 'steme'}}).code).toBe(0)
      expect(sb.run(['assert', 'a:b', 'c', '1', '--store', hinted!], {env: {PGPASSWORD: 'steme'}}).code).toBe(0)
    } finally {
      await c.end()
    }
  })
})

describe('a Unix socket URL', () => {
  it('with no server at the socket: says so of the socket, and points at host= and the port, not at TCP (exit 2)', () => {
    const dir = `${sb.dir}/no-server-here`
    const r = sb.run(['stats', '--store', `postgres://steme:pw@/steme?host=${dir}&port=5439`])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`error: cannot reach the PostgreSQL server for postgres://steme@/steme?host=${dir}&port=5439: no server listens on the Unix socket ${dir}/.s.PGSQL.5439`)
    expect(r.stderr).toMatch(/hint: check host= in the URL \(the directory of the socket, the server's unix_socket_directories\)/)
    expect(r.stderr).not.toMatch(/TCP|:pw@/)
  })
})

describe('two PostgreSQL servers on one machine, told apart by port=', () => {
  let second: PgServer | undefined
  afterAll(async () => {
    await second?.stop()
  })

  /** The URL of database `name` on a server, its port given as a query parameter (as beside host= for a Unix socket). */
  const byParam = (serverDb: string) => serverDb.replace(/^(postgres:\/\/[^@]*@[^:/]*):(\d+)(\/[^?]*)$/, '$1$3?port=$2')

  it('migrate copies between the same database name on two servers, and the hints name the server they mean', {timeout: 300_000}, async () => {
    second = await startPostgres()
    const [a, b] = [byParam(await server.database('team_two')), byParam(await second.database('team_two'))]
    expect(a).toMatch(/\/team_two\?port=\d+$/)
    expect(sb.run(['init', '--store', a]).code).toBe(0)
    expect(sb.run(['ingest', '-', '--store', a], {input: ndjson(records(4, 50))}).code).toBe(0)
    // The store on the second server is not there yet: the hint says how to make it, on that server.
    const missing = sb.run(['stats', '--store', `${b}&schema=lab`])
    expect(missing.code).toBe(2)
    const port = /port=(\d+)/.exec(b)![1]
    expect(missing.stderr).toContain(`has no steme store`)
    const hinted = /`steme init --store '([^']*)'`/.exec(missing.stderr)?.[1]
    expect(hinted).toBe(`postgres://steme@127.0.0.1/team_two?port=${port}&schema=lab`)
    expect(missing.stderr).not.toMatch(/:steme@/)
    // The hint's command, run as printed (the password from PGPASSWORD), makes the store there.
    expect(sb.run(['init', '--store', hinted!], {env: {PGPASSWORD: 'steme'}}).code).toBe(0)
    const r = sb.run(['migrate', '--from', a, '--to', `${b}&schema=lab`, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({scanned: 50, added: 50, bad: 0, from: expect.stringMatching(/\?port=/), to: expect.stringMatching(/\?port=\d+&schema=lab$/)})
    const [ea, eb] = [sb.run(['export', '--store', a]).stdout, sb.run(['export', '--store', `${b}&schema=lab`]).stdout]
    expect(ea.split('\n').length).toBe(51)
    expect(eb).toBe(ea)
  })
})

describe('roles a team gives steme', () => {
  /** `url` with another user and password. */
  const as = (url: string, user: string, password: string) => url.replace(/^postgres:\/\/[^@]*@/, `postgres://${user}:${password}@`)

  async function admin(sql: string[]): Promise<void> {
    const c = new pg.Client({connectionString: db})
    await c.connect()
    try {
      for (const q of sql) await c.query(q)
    } finally {
      await c.end()
    }
  }

  it('a schema an admin made for the steme user, who may not create schemas in the database: init, write and read work', async () => {
    await admin([`CREATE ROLE team_app LOGIN PASSWORD 'app'`, `REVOKE CREATE ON DATABASE ${db.split('/').pop()} FROM PUBLIC`, `CREATE SCHEMA app_store AUTHORIZATION team_app`])
    const url = `${as(db, 'team_app', 'app')}?schema=app_store`
    const init = sb.run(['init', '--store', url])
    expect(init.code, init.stderr).toBe(0)
    expect(init.stdout).toContain('Created postgres://team_app@')
    const id = sb.run(['assert', 'drug:x', 'dose', '5', '--store', url])
    expect(id.code, id.stderr).toBe(0)
    expect(JSON.parse(sb.run(['query', 'drug:x', '--store', url, '--json']).stdout).resolutions[0].winner.value).toBe(5)
  })

  it('a role whose connection limit the command outgrows part way: says the server accepts no more connections and what to raise (exit 1), not an internal error, and closes the store', async () => {
    const url = `${db}?schema=limited`
    expect(sb.run(['init', '--store', url]).code).toBe(0)
    await admin([`CREATE ROLE team_limited LOGIN PASSWORD 'l' CONNECTION LIMIT 1`, 'GRANT USAGE ON SCHEMA limited TO team_limited', 'GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA limited TO team_limited'])
    // Opening takes one connection; a command that writes then reads two things at once.
    const r = sb.run(['assert', 'drug:z', 'dose', '1', '--store', `${as(db, 'team_limited', 'l')}?schema=limited`, '--json'])
    expect(r.code, r.stderr).toBe(1)
    const {error} = JSON.parse(r.stdout) as {error: {code: string; message: string; hint: string}}
    expect(error.message).toMatch(/^the PostgreSQL server for postgres:\/\/team_limited@[^ ]*\?schema=limited accepts no connections right now: too many connections for role "team_limited"$/)
    expect(error.hint).toMatch(/each steme process opens up to 4 connections: raise max_connections \(or the CONNECTION LIMIT of the role or the database\)/)
    expect(r.stderr).not.toMatch(/internal error/)
    // And the store is closed on that failure: no connection is left to hold the process open
    // until the pool's idle timeout (the CLI exited only then).
    const sockets = () => process.getActiveResourcesInfo().filter((k) => k === 'TCPSocketWrap').length
    const before = sockets()
    await expect(openRuntime({store: `${as(db, 'team_limited', 'l')}?schema=limited`, env: {}})).rejects.toThrow(/too many connections for role "team_limited"/)
    // Sockets finish closing a moment after the pool ends; left open, they would stay for the
    // pool's 10 s idle timeout, twice what this waits.
    for (let i = 0; i < 100 && sockets() !== before; i++) await new Promise((r) => setTimeout(r, 50))
    expect(sockets()).toBe(before)
  })

  it('a read-only role opening a store of an older schema version: says the upgrade is what it may not make (exit 2); once the owner opens it, the role reads', async () => {
    const url = `${db}?schema=old_store`
    expect(sb.run(['init', '--store', url]).code).toBe(0)
    expect(sb.run(['assert', 'drug:y', 'dose', '7', '--store', url]).code).toBe(0)
    // Back to version 2, as a store written before version 3's indexes.
    await admin([
      'DROP INDEX old_store.records_source',
      'DROP INDEX old_store.refs_src',
      'DELETE FROM old_store.schema_version WHERE version = 3',
      `CREATE ROLE team_reader LOGIN PASSWORD 'r:d'`,
      'GRANT USAGE ON SCHEMA old_store TO team_reader',
      'GRANT SELECT ON ALL TABLES IN SCHEMA old_store TO team_reader',
    ])
    const reader = `${as(db, 'team_reader', 'r%3Ad')}?schema=old_store`
    const refused = sb.run(['query', 'drug:y', '--store', reader])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/^error: postgres:\/\/team_reader@[^ ]*\?schema=old_store has steme schema version 2, which this steme upgrades to 3 when it opens the store, and its PostgreSQL user may not: permission denied/)
    expect(refused.stderr).toContain("`steme stats --store 'postgres://<owner>@")
    expect(refused.stderr).not.toContain('r:d')
    // The owner's first command upgrades it; the reader then reads.
    expect(sb.run(['stats', '--store', url]).code).toBe(0)
    const q = sb.run(['query', 'drug:y', '--store', reader, '--json'])
    expect(q.code, q.stderr).toBe(0)
    expect(JSON.parse(q.stdout).resolutions[0].winner.value).toBe(7)
  })
})
