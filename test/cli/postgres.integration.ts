import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {spawnSync} from 'node:child_process'
import {open} from 'node:fs/promises'
import {join} from 'node:path'
import {initHash} from '../../src/core/hash.js'
import {recordLine, type Sealed} from '../../src/core/seal.js'
import {openStore} from '../../src/runtime.js'
import {rootFingerprint} from '../../src/sync/reconcile.js'
import {LocalView} from '../../src/sync/view.js'
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
  sb = sandbox('steme-pg-cli-')
})
afterAll(async () => {
  sb?.cleanup()
  await server?.stop()
})

type IngestJson = {added: number; present: number; rejected: number}
type MigrateJson = {scanned: number; added: number; present: number; bad: number; from: string; to: string}

/** `n` signed assertions by agent `agent`, about n / 10 subjects (about ten candidates each). */
function records(agent: number, n: number): Sealed[] {
  const key = testKey(agent)
  const out: Sealed[] = []
  for (let i = 0; i < n; i++) {
    out.push(assertion({subject: `s:${agent}:${i % (n / 10)}`, predicate: 'p', value: i, hlc: stamp(1_700_000_000_000 + i, agent)}, key))
  }
  return out
}

/** A store's root sync fingerprint, read in-process. */
async function root(store: string): Promise<{count: number; fingerprint: string}> {
  const s = await openStore(store, {readOnly: true})
  try {
    return await rootFingerprint(await LocalView.load(s))
  } finally {
    await s.close()
  }
}

const ndjson = (rs: readonly Sealed[]) => rs.map((s) => recordLine(s.canonical, s.record.id, s.record.sig)).join('\n') + '\n'

describe('steme on PostgreSQL through the CLI', () => {
  it('init --store creates the schema once; commands find the store by --store and STEME_STORE', () => {
    const url = `${db}?schema=cli`
    const first = sb.json<{created: boolean; store: string}>(['init', '--store', url])
    expect(first.created).toBe(true)
    expect(first.store).not.toMatch(/:steme@/)
    expect(sb.json<{created: boolean}>(['init', '--store', url]).created).toBe(false)
    expect(sb.run(['assert', 'drug:aspirin', 'bleeding_rate', '0.002', '--store', url]).code).toBe(0)
    const q = sb.run(['query', 'drug:aspirin', '--json'], {env: {STEME_STORE: url}})
    expect(JSON.parse(q.stdout).resolutions[0].winner.value).toBe(0.002)
    const missing = sb.run(['stats', '--store', `${db}?schema=nothing_here`])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/has no steme store/)
    expect(missing.stderr).toMatch(/steme init --store 'postgres:\/\/steme@/)
    expect(missing.stderr).not.toMatch(/:steme@/)
  })

  it('serve and serve token refuse a PostgreSQL store, saying why and that it needs no daemon, without the password', () => {
    const url = `${db}?schema=served`
    expect(sb.run(['init', '--store', url]).code).toBe(0)
    const password = /\/\/[^:@/]*:([^@/]*)@/.exec(db)![1]
    for (const args of [['serve', '--port', '0'], ['serve', 'token', 'create', '--role', 'write'], ['serve', 'token', 'revoke', 'ci']]) {
      const r = sb.run([...args, '--store', url, '--json'])
      expect(r.code, args.join(' ')).toBe(2)
      const {error} = JSON.parse(r.stdout) as {error: {message: string; hint: string}}
      expect(error.message).toMatch(/on disk/)
      expect(error.hint).toMatch(/a PostgreSQL store needs no daemon: any number of steme processes, on any machines, open it at once by its URL/)
      expect(r.stdout + r.stderr).not.toContain(`:${password}@`)
    }
    const serve = JSON.parse(sb.run(['serve', '--port', '0', '--store', url, '--json']).stdout) as {error: {message: string}}
    expect(serve.error.message).toMatch(/^steme serve needs a store on disk \(its tokens and state live in the \.steme directory\), not postgres:\/\/steme@[^ ]*\?schema=served$/)
  })

  it('4 writer processes x 10,000 records (overlapping) end with exactly 40,000, the same records as a DuckDB copy', {timeout: 900_000}, async () => {
    const url = `${db}?schema=writers`
    expect(sb.run(['init', '--store', url]).code).toBe(0)
    // 10,000 each (plus 2,000 shared) is one append transaction per writer, as 50,000 were:
    // what makes the writers contend is not their size but that the four transactions run at
    // once, which the named pipes below see to.
    const sets = [1, 2, 3, 4].map((a) => records(a, 10_000))
    // Each writer also sends 2,000 of the next writer's records, so writers race on the same ids.
    const inputs = sets.map((rs, i) => ndjson([...rs, ...sets[(i + 1) % 4].slice(0, 2000)]))
    // Each writer reads a named pipe, which is filled only once all four have opened theirs
    // (each has its store open by then): the four read, verify and insert side by side, rather
    // than one finishing before a slower-starting one begins.
    const pipes = inputs.map((_, i) => {
      const pipe = join(sb.dir, `w${i}.ndjson`)
      const made = spawnSync('mkfifo', [pipe], {encoding: 'utf8'})
      expect(made.status, made.stderr).toBe(0)
      return pipe
    })
    const running = pipes.map((p) => sb.runAsync(['ingest', p, '--store', url, '--threads', '1', '--json']))
    const ended = (i: number) => running[i].then((r) => Promise.reject(new Error(`writer ${i} ended before reading its input: ${r.code} ${r.stderr}`)))
    // Opening a pipe for writing waits until its reader opens it.
    const handles = await Promise.all(pipes.map((p, i) => Promise.race([open(p, 'w'), ended(i)])))
    await Promise.all(handles.map(async (h, i) => {
      await h.writeFile(inputs[i])
      await h.close()
    }))
    const runs = await Promise.all(running)
    for (const r of runs) expect(r.code, r.stderr).toBe(0)
    const results = runs.map((r) => JSON.parse(r.stdout) as IngestJson)
    expect(results.reduce((t, r) => t + r.added, 0)).toBe(40_000)
    expect(results.reduce((t, r) => t + r.present, 0)).toBe(8_000)
    const stats = sb.json<{records: number; agents: number; subjects: number}>(['stats', '--store', url])
    expect(stats).toMatchObject({records: 40_000, agents: 4, subjects: 4_000})

    // A DuckDB store given the same records holds the same set, byte for byte.
    const duck = join(sb.dir, 'writers.duckdb')
    const toDuck = sb.json<MigrateJson>(['migrate', '--from', url, '--to', duck])
    expect(toDuck).toMatchObject({scanned: 40_000, added: 40_000, present: 0, bad: 0})
    expect(toDuck.from).not.toMatch(/:steme@/)
    const a = sb.run(['export', '--store', url])
    const b = sb.run(['export', '--store', duck])
    expect(a.code).toBe(0)
    expect(a.stdout.split('\n').length).toBe(40_001)
    expect(a.stdout === b.stdout).toBe(true)
    // ... and the same sync fingerprint, kept incrementally by four racing writers on one side.
    const [pgRoot, duckRoot] = await Promise.all([root(url), root(duck)])
    expect(pgRoot.count).toBe(40_000)
    expect(pgRoot).toEqual(duckRoot)
  })

  it('sync between a DuckDB store and a PostgreSQL store ends with the same set on both', {timeout: 300_000}, async () => {
    const url = `${db}?schema=syncpg`
    expect(sb.run(['init', '--store', url]).code).toBe(0)
    expect(sb.run(['init', '--dir', join(sb.dir, 'syncduck')]).code).toBe(0)
    const duck = join(sb.dir, 'syncduck', '.steme')
    const [x, y] = [records(8, 3000), records(9, 3000)]
    expect(sb.run(['ingest', '-', '--store', url], {input: ndjson([...x, ...y.slice(0, 500)])}).code).toBe(0)
    expect(sb.run(['ingest', '-', '--store', duck], {input: ndjson(y)}).code).toBe(0)
    const r = sb.run(['sync', duck, '--store', url, '--json'])
    expect(r.code, r.stderr).toBe(0)
    const [pgRoot, duckRoot] = await Promise.all([root(url), root(join(duck, 'store.duckdb'))])
    expect(pgRoot.count).toBe(6000)
    expect(pgRoot).toEqual(duckRoot)
  })

  it('migrate round-trips DuckDB -> PostgreSQL -> DuckDB', {timeout: 300_000}, () => {
    expect(sb.run(['init', '--dir', join(sb.dir, 'rt')]).code).toBe(0)
    const src = join(sb.dir, 'rt', '.steme')
    // 12,000: more than two of migrate's 5,000-record batches each way, the last one part full.
    const rs = [...records(6, 6_000), ...records(7, 6_000)]
    expect(sb.run(['ingest', '-', '--store', src], {input: ndjson(rs)}).code).toBe(0)
    const pgUrl = `${db}?schema=roundtrip`
    const dst = join(sb.dir, 'rt-dst.duckdb')
    expect(sb.json<MigrateJson>(['migrate', '--from', src, '--to', pgUrl])).toMatchObject({scanned: 12_000, added: 12_000, bad: 0})
    expect(sb.json<MigrateJson>(['migrate', '--from', pgUrl, '--to', dst])).toMatchObject({scanned: 12_000, added: 12_000, bad: 0})
    // Run again: everything is already there.
    expect(sb.json<MigrateJson>(['migrate', '--from', src, '--to', pgUrl])).toMatchObject({added: 0, present: 12_000})
    expect(sb.run(['fsck', '--store', pgUrl]).code).toBe(0)
    const a = sb.run(['export', '--store', src]).stdout
    expect(a.split('\n').length).toBe(12_001)
    expect(sb.run(['export', '--store', dst]).stdout === a).toBe(true)
    expect(sb.run(['export', '--store', pgUrl]).stdout === a).toBe(true)
  })

  it('migrate reports a tampered record, copies the rest, exits 1', async () => {
    const url = `${db}?schema=tamper`
    expect(sb.run(['init', '--store', url]).code).toBe(0)
    const rs = records(5, 20)
    expect(sb.run(['ingest', '-', '--store', url], {input: ndjson(rs)}).code).toBe(0)
    const pg = await import('pg')
    const c = new pg.default.Client({connectionString: db})
    await c.connect()
    await c.query(`UPDATE tamper.records SET canonical = replace(canonical, '"value":3', '"value":4') WHERE id = decode($1, 'hex')`, [rs[3].record.id])
    await c.end()
    const r = sb.run(['migrate', '--from', url, '--to', join(sb.dir, 'tamper.duckdb'), '--json'])
    expect(r.code).toBe(1)
    const res = JSON.parse(r.stdout) as MigrateJson & {errors: Array<{id: string; reason: string}>}
    expect(res).toMatchObject({scanned: 20, added: 19, bad: 1})
    expect(res.errors[0]).toMatchObject({id: rs[3].record.id})
    expect(res.errors[0].reason).toMatch(/^id:/)
  })

  it('fsck names a row whose stored text is no record and goes on; query stops at it with an integrity error; exit 1', async () => {
    const url = `${db}?schema=damaged`
    expect(sb.run(['init', '--store', url]).code).toBe(0)
    const rs = records(6, 10)
    expect(sb.run(['ingest', '-', '--store', url], {input: ndjson(rs)}).code).toBe(0)
    const pg = await import('pg')
    const c = new pg.default.Client({connectionString: db})
    await c.connect()
    await c.query(`UPDATE damaged.records SET canonical = '{' WHERE id = decode($1, 'hex')`, [rs[2].record.id])
    await c.end()
    const f = sb.run(['fsck', '--store', url, '--json'])
    expect(f.code).toBe(1)
    const res = JSON.parse(f.stdout) as {checked: number; bad: Array<{id: string; reason: string}>}
    expect(res.checked).toBe(10)
    expect(res.bad).toEqual([{id: rs[2].record.id, reason: expect.stringMatching(/^its stored text is not JSON \(.+\): "\{"$/), unsound: true}])
    const q = sb.run(['query', (rs[2].record as {subject: string}).subject, 'p', '--store', url, '--json'])
    expect(q.code).toBe(1)
    const err = JSON.parse(q.stdout) as {error: {code: string; message: string; hint: string}}
    expect(err.error.code).toBe('integrity')
    expect(err.error.message).toContain(`record ${rs[2].record.id} in the store is damaged`)
    expect(err.error.hint).toContain('steme fsck')
  })

  it('fsck reports refs rows of no record and a drifted sync bucket; fsck --repair rewrites them; exit 1, then 0', async () => {

    const url = `${db}?schema=fsck_derived`
    expect(sb.run(['init', '--store', url]).code).toBe(0)
    const base = assertion({subject: 't:x', predicate: 'p', value: 'A', hlc: stamp(1_700_000_000_000, 1)})
    const gone = assertion({subject: 't:y', predicate: 'p', value: 'B', evidence: [base.record.id], hlc: stamp(1_700_000_000_000, 2)})
    expect(sb.run(['ingest', '-', '--store', url], {input: ndjson([base, gone])}).code).toBe(0)
    const pg = await import('pg')
    const c = new pg.default.Client({connectionString: db})
    await c.connect()
    await c.query(`DELETE FROM fsck_derived.records WHERE id = decode($1, 'hex')`, [gone.record.id])
    await c.end()
    const r = sb.run(['fsck', '--store', url])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('1 record checked, 0 bad; 2 derived-table problems\n')
    expect(r.stderr).toContain(`refs: 1 row from ${gone.record.id}, which is not a stored record (evidence:${base.record.id})`)
    expect(r.stderr).toContain('counts 2 records, the records stamped in it are 1')
    const repair = sb.run(['fsck', '--repair', '--store', url])
    expect(repair.code, repair.stderr).toBe(0)
    expect(repair.stdout).toContain('repaired in one transaction: 1 refs row of no record removed, 1 sync_buckets row rewritten\n')
    expect(sb.run(['fsck', '--store', url]).code).toBe(0)
  })
})
