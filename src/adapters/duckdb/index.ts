/** The default store: an embedded DuckDB file, one writer process, bulk inserts through the Appender. */
import {DuckDBConnection, DuckDBInstance, blobValue, type DuckDBValue} from '@duckdb/node-api'
import {statSync} from 'node:fs'
import {UserError} from '../../core/errors.js'
import type {Assertion, Kind, SignedRecord} from '../../core/record.js'
import type {Sealed} from '../../core/seal.js'
import type {InsertResult, ScanOptions, Store, StoreStats} from '../../core/store.js'
import {MIGRATIONS, SCHEMA_VERSION} from './schema.js'

const COLS = 'lower(hex(id)) AS id, canonical, lower(hex(sig)) AS sig'

type Row = {id: string; canonical: string; sig: string}

function toSealed(row: Row): Sealed {
  const record = JSON.parse(row.canonical) as SignedRecord
  record.id = row.id
  record.sig = row.sig
  return {record, canonical: row.canonical}
}

const idBlob = (hex: string) => blobValue(Buffer.from(hex, 'hex'))

/** `IN (...)` lists are chunked so one query never carries an unbounded parameter list. */
const CHUNK = 1000

export class DuckDBStore implements Store {
  private writes: Promise<unknown> = Promise.resolve()

  private constructor(
    readonly location: string,
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    readonly readOnly: boolean,
  ) {}

  static async open(path: string, opts: {readOnly?: boolean; create?: boolean} = {}): Promise<DuckDBStore> {
    let instance: DuckDBInstance
    try {
      instance = await DuckDBInstance.create(path, opts.readOnly ? {access_mode: 'READ_ONLY'} : {})
    } catch (e) {
      throw openError(path, e)
    }
    const conn = await instance.connect()
    const store = new DuckDBStore(path, instance, conn, !!opts.readOnly)
    await store.migrate(!!opts.create)
    return store
  }

  private async migrate(create: boolean): Promise<void> {
    const hasSchema = await this.rows<{n: number}>(`SELECT count(*)::INTEGER AS n FROM information_schema.tables WHERE table_name = 'schema_version'`)
    let version = 0
    if (hasSchema[0].n > 0) version = (await this.rows<{v: number}>(`SELECT max(version)::INTEGER AS v FROM schema_version`))[0].v ?? 0
    else if (!create) {
      const tables = await this.rows<{n: number}>(`SELECT count(*)::INTEGER AS n FROM information_schema.tables`)
      if (tables[0].n > 0) throw new UserError(`${this.location} is a DuckDB file but not a steme store`, {code: 'no_store', hint: 'point --store at a steme store, or run `steme init` in a new directory'})
    }
    if (version > SCHEMA_VERSION) {
      throw new UserError(`${this.location} has schema version ${version}, newer than this steme understands (${SCHEMA_VERSION})`, {code: 'config', hint: 'upgrade steme'})
    }
    if (version === SCHEMA_VERSION) return
    if (this.readOnly) throw new UserError(`${this.location} needs a schema upgrade but is open read-only`, {code: 'config', hint: 'run any write command (for example `steme stats`) once without the daemon'})
    await this.conn.run('BEGIN TRANSACTION')
    try {
      await this.conn.run('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP DEFAULT current_timestamp)')
      for (let v = version; v < SCHEMA_VERSION; v++) {
        for (const sql of MIGRATIONS[v]) await this.conn.run(sql)
        await this.conn.run('INSERT INTO schema_version (version) VALUES (?)', [v + 1])
      }
      await this.conn.run('COMMIT')
    } catch (e) {
      await this.conn.run('ROLLBACK')
      throw e
    }
  }

  private async rows<T>(sql: string, params: DuckDBValue[] = []): Promise<T[]> {
    const reader = await this.conn.runAndReadAll(sql, params)
    return reader.getRowObjectsJS() as T[]
  }

  /** Writes are serialized: DuckDB's appender and explicit transactions share the one connection. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.writes.then(fn, fn)
    this.writes = next.catch(() => undefined)
    return next
  }

  insert(batch: readonly Sealed[]): Promise<InsertResult> {
    if (this.readOnly) return Promise.reject(new UserError(`${this.location} is open read-only`, {code: 'locked'}))
    return this.exclusive(async () => {
      const unique = new Map<string, Sealed>()
      for (const s of batch) unique.set(s.record.id, s)
      const present = await this.has([...unique.keys()])
      const fresh = [...unique.values()].filter((s) => !present.has(s.record.id))
      if (fresh.length === 0) return {added: 0, present: batch.length}
      await this.conn.run('BEGIN TRANSACTION')
      try {
        const app = await this.conn.createAppender('records')
        const refs = await this.conn.createAppender('refs')
        for (const {record: r, canonical} of fresh) {
          const id = Buffer.from(r.id, 'hex')
          app.appendBlob(id)
          app.appendVarchar(r.kind)
          app.appendVarchar(r.agent)
          app.appendVarchar(r.hlc)
          if (r.kind === 'assertion') {
            app.appendVarchar(r.subject)
            app.appendVarchar(r.predicate)
            app.appendNull()
          } else {
            app.appendNull()
            app.appendNull()
            if (r.kind === 'epoch' || (r.kind === 'retract' && r.target === undefined)) app.appendNull()
            else app.appendVarchar((r as {target: string}).target)
          }
          const source = r.kind === 'assertion' || r.kind === 'retract' ? r.source : undefined
          if (source === undefined) app.appendNull()
          else app.appendVarchar(source)
          app.appendVarchar(canonical)
          app.appendBlob(Buffer.from(r.sig, 'hex'))
          app.endRow()
          if (r.kind === 'assertion') {
            for (const dst of r.evidence ?? []) {
              refs.appendBlob(id)
              refs.appendVarchar(dst)
              refs.appendVarchar('evidence')
              refs.endRow()
            }
            for (const dst of r.supersedes ?? []) {
              refs.appendBlob(id)
              refs.appendVarchar(dst)
              refs.appendVarchar('supersedes')
              refs.endRow()
            }
          }
        }
        app.flushSync()
        app.closeSync()
        refs.flushSync()
        refs.closeSync()
        await this.conn.run('COMMIT')
      } catch (e) {
        await this.conn.run('ROLLBACK')
        throw e
      }
      return {added: fresh.length, present: batch.length - fresh.length}
    })
  }

  async get(ids: readonly string[]): Promise<Sealed[]> {
    const out: Sealed[] = []
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK)
      const rows = await this.rows<Row>(`SELECT ${COLS} FROM records WHERE id IN (${part.map(() => '?').join(',')})`, part.map(idBlob))
      out.push(...rows.map(toSealed))
    }
    return out
  }

  async has(ids: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>()
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = ids.slice(i, i + CHUNK)
      const rows = await this.rows<{id: string}>(`SELECT lower(hex(id)) AS id FROM records WHERE id IN (${part.map(() => '?').join(',')})`, part.map(idBlob))
      for (const r of rows) out.add(r.id)
    }
    return out
  }

  async assertions(subject: string, predicate?: string, until?: string): Promise<Assertion[]> {
    let sql = `SELECT ${COLS} FROM records WHERE subject = ?`
    const params: DuckDBValue[] = [subject]
    if (predicate !== undefined) {
      sql += ' AND predicate = ?'
      params.push(predicate)
    }
    if (until !== undefined) {
      sql += ' AND hlc <= ?'
      params.push(until)
    }
    const rows = await this.rows<Row>(sql + ' ORDER BY hlc, id', params)
    return rows.map((r) => toSealed(r).record as Assertion)
  }

  async referencing(ids: readonly string[]): Promise<SignedRecord[]> {
    const out: SignedRecord[] = []
    for (let i = 0; i < ids.length; i += CHUNK) {
      const part = [...ids.slice(i, i + CHUNK)]
      const marks = part.map(() => '?').join(',')
      const rows = await this.rows<Row>(
        `SELECT ${COLS}, hlc FROM records WHERE target IN (${marks})
         UNION SELECT ${COLS}, hlc FROM records WHERE id IN (SELECT src FROM refs WHERE dst IN (${marks}))
         ORDER BY hlc, id`,
        [...part, ...part],
      )
      out.push(...rows.map((r) => toSealed(r).record))
    }
    return out
  }

  async ofKinds(kinds: readonly Kind[], until?: string): Promise<SignedRecord[]> {
    const params: DuckDBValue[] = [...kinds]
    let sql = `SELECT ${COLS} FROM records WHERE kind IN (${kinds.map(() => '?').join(',')})`
    if (until !== undefined) {
      sql += ' AND hlc <= ?'
      params.push(until)
    }
    return (await this.rows<Row>(sql + ' ORDER BY hlc, id', params)).map((r) => toSealed(r).record)
  }

  async *scan(opts: ScanOptions = {}): AsyncIterable<Sealed[]> {
    const where: string[] = []
    const params: DuckDBValue[] = []
    if (opts.subject !== undefined) {
      where.push('subject = ?')
      params.push(opts.subject)
    }
    if (opts.kinds) {
      where.push(`kind IN (${opts.kinds.map(() => '?').join(',')})`)
      params.push(...opts.kinds)
    }
    if (opts.since !== undefined) {
      where.push('hlc > ?')
      params.push(opts.since)
    }
    if (opts.until !== undefined) {
      where.push('hlc <= ?')
      params.push(opts.until)
    }
    let sql = `SELECT ${COLS} FROM records${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY hlc, id`
    if (opts.limit !== undefined) sql += ` LIMIT ${Math.max(0, Math.floor(opts.limit))}`
    // A second connection, so a long scan does not hold up writes queued on the main one.
    const conn = await this.instance.connect()
    try {
      const result = await conn.stream(sql, params)
      const size = opts.batch ?? 2048
      let buf: Sealed[] = []
      for await (const rows of result.yieldRowObjectJs()) {
        for (const r of rows) {
          buf.push(toSealed(r as unknown as Row))
          if (buf.length === size) {
            yield buf
            buf = []
          }
        }
      }
      if (buf.length) yield buf
    } finally {
      conn.closeSync()
    }
  }

  async stats(): Promise<StoreStats> {
    const kinds = await this.rows<{kind: Kind; n: number}>(`SELECT kind, count(*)::INTEGER AS n FROM records GROUP BY kind`)
    const byKind: Record<Kind, number> = {assertion: 0, vote: 0, retract: 0, epoch: 0, trust: 0}
    for (const k of kinds) byKind[k.kind] = k.n
    const [c] = await this.rows<{records: number; agents: number; subjects: number}>(
      `SELECT count(*)::INTEGER AS records, count(DISTINCT agent)::INTEGER AS agents, count(DISTINCT subject)::INTEGER AS subjects FROM records`,
    )
    let bytes: number | undefined
    try {
      bytes = statSync(this.location).size
    } catch {
      bytes = undefined
    }
    return {...c, byKind, bytes}
  }

  async maxHlc(): Promise<string | undefined> {
    const [r] = await this.rows<{m: string | null}>('SELECT max(hlc) AS m FROM records')
    return r.m ?? undefined
  }

  async getMeta(key: string): Promise<string | undefined> {
    const rows = await this.rows<{value: string}>('SELECT value FROM meta WHERE key = ?', [key])
    return rows[0]?.value
  }

  setMeta(key: string, value: string): Promise<void> {
    return this.exclusive(async () => {
      await this.conn.run('INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value])
    })
  }

  async close(): Promise<void> {
    await this.writes
    if (!this.readOnly) await this.conn.run('CHECKPOINT').catch(() => undefined)
    this.conn.closeSync()
    this.instance.closeSync()
  }
}

function openError(path: string, e: unknown): UserError {
  const msg = e instanceof Error ? e.message : String(e)
  if (/lock/i.test(msg)) {
    return new UserError(`the store ${path} is in use by another steme process`, {
      code: 'locked',
      exit: 1,
      hint: 'DuckDB admits one process per store file: wait for the other steme command to finish (or stop it) and retry; if it is `steme serve`, pass --remote <its URL>',
      cause: e,
    })
  }
  return new UserError(`cannot open the store ${path}: ${msg}`, {code: 'no_store', hint: 'check the path, or create a store with `steme init`', cause: e})
}
