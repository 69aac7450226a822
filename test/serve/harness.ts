/** Test harness: a real daemon on a free port over a fresh DuckDB store, tokens of every role, and a fetch helper. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {recordLine, type Sealed} from '../../src/core/seal.js'
import {openRuntime, type Runtime} from '../../src/runtime.js'
import {createServer, type ServeOptions, type Server} from '../../src/serve/app.js'
import {TokenFile} from '../../src/serve/tokens.js'

export interface Harness {
  url: string
  rt: Runtime
  server: Server
  tokens: TokenFile
  read: string
  write: string
  admin: string
  revoked: string
  dir: string
  req(path: string, init?: RequestInit & {token?: string | null}): Promise<{status: number; body: any; text: string; headers: Headers}>
  stop(): Promise<void>
}

export async function startHarness(opts: Partial<Omit<ServeOptions, 'deps' | 'tokens'>> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'steme-serve-'))
  const env = {XDG_CONFIG_HOME: join(dir, 'xdg')}
  const rt = await openRuntime({store: join(dir, 'store.duckdb'), create: true, env})
  const tokens = new TokenFile(join(dir, 'state', 'tokens.json'))
  const read = tokens.create('read', 'r').token
  const write = tokens.create('write', 'w').token
  const admin = tokens.create('admin', 'a').token
  const revoked = tokens.create('admin', 'gone').token
  tokens.revoke('gone')
  const server = await createServer({deps: rt, tokens, threads: 0, ...opts})
  const url = await server.app.listen({host: '127.0.0.1', port: 0})
  return {
    url,
    rt,
    server,
    tokens,
    read,
    write,
    admin,
    revoked,
    dir,
    async req(path, init = {}) {
      const headers = new Headers(init.headers)
      const token = init.token === undefined ? admin : init.token
      if (token !== null) headers.set('authorization', `Bearer ${token}`)
      const res = await fetch(url + path, {...init, headers})
      const text = await res.text()
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        body = undefined
      }
      return {status: res.status, body, text, headers: res.headers}
    },
    async stop() {
      await server.close()
      await rt.close()
      rmSync(dir, {recursive: true, force: true})
    },
  }
}

export const ndjson = (records: Sealed[]): string => records.map((s) => recordLine(s.canonical, s.record.id, s.record.sig)).join('\n') + '\n'
