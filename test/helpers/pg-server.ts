/** A throwaway PostgreSQL server for integration tests (scripts/pg-test-server.sh), or the one STEME_TEST_PG_URL names. */
import {execFile} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {promisify} from 'node:util'
import pg from 'pg'

const run = promisify(execFile)
const SCRIPT = resolve(import.meta.dirname, '../../scripts/pg-test-server.sh')

export interface PgServer {
  /** Admin URL (a superuser, database postgres). */
  url: string
  /** A fresh, empty database on the server; its URL. */
  database(name?: string): Promise<string>
  /** A fresh URL with a wrong password for the same server. */
  withPassword(password: string): string
  stop(): Promise<void>
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.once('error', rej)
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address() as {port: number}
      srv.close(() => res(port))
    })
  })
}

let seq = 0

export async function startPostgres(): Promise<PgServer> {
  let url = process.env.STEME_TEST_PG_URL
  let dir: string | undefined
  if (!url) {
    dir = mkdtempSync(join(tmpdir(), 'steme-pg-'))
    rmSync(dir, {recursive: true})
    const port = await freePort()
    const {stdout} = await run('sh', [SCRIPT, 'start', dir, String(port)], {env: {...process.env, PG_OPTS: '-c fsync=off -c synchronous_commit=off -c full_page_writes=off'}})
    url = stdout.trim()
  }
  const admin = url
  const withDb = (db: string) => admin.replace(/\/[^/?]*(\?|$)/, `/${db}$1`)
  return {
    url: admin,
    async database(name) {
      const db = name ?? `steme_t${process.pid}_${seq++}`
      const c = new pg.Client({connectionString: admin})
      await c.connect()
      try {
        await c.query(`DROP DATABASE IF EXISTS ${db}`)
        await c.query(`CREATE DATABASE ${db}`)
      } finally {
        await c.end()
      }
      return withDb(db)
    },
    withPassword(password) {
      return admin.replace(/(\/\/[^:@/]*):[^@/]*@/, `$1:${encodeURIComponent(password)}@`)
    },
    async stop() {
      if (dir) await run('sh', [SCRIPT, 'stop', dir])
    },
  }
}
