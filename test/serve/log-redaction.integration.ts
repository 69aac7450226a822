/** The daemon's JSON log (in a pipe) keeps secrets out of the errors it logs, as its terminal lines do. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Writable} from 'node:stream'
import {afterEach, describe, expect, it} from 'vitest'
import {openRuntime} from '../../src/runtime.js'
import {createServer} from '../../src/serve/app.js'
import {TokenFile} from '../../src/serve/tokens.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})

describe('a 500 in the JSON log', () => {
  it('has the URL passwords and token text of its error redacted, its request id and error kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steme-logredact-'))
    dirs.push(dir)
    const rt = await openRuntime({store: join(dir, 'store.duckdb'), create: true, env: {XDG_CONFIG_HOME: join(dir, 'xdg')}})
    const tokens = new TokenFile(join(dir, 'state', 'tokens.json'))
    const read = tokens.create('read', 'r').token
    // A store whose failure quotes a connection URL with its password, and a token.
    const secret = 'stm_AbCdEfGhIjKl_' + 'q'.repeat(43)
    const store = new Proxy(rt.store, {
      get(target, prop) {
        if (prop === 'stats') return async () => Promise.reject(new Error(`cannot reach postgres://steme:hunter2@db/steme for ${secret}`))
        const v = Reflect.get(target, prop) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    })
    let log = ''
    const stream = new Writable({
      write(chunk, _enc, done) {
        log += String(chunk)
        done()
      },
    })
    const server = await createServer({deps: {...rt, store}, tokens, threads: 0, logger: {level: 'info', stream}})
    try {
      const url = await server.app.listen({host: '127.0.0.1', port: 0})
      const res = await fetch(`${url}/v1/stats`, {headers: {authorization: `Bearer ${read}`}})
      expect(res.status).toBe(500)
      const id = res.headers.get('x-request-id')
      const failed = log.split('\n').filter((l) => l.includes('"request failed"'))
      expect(failed).toHaveLength(1)
      const entry = JSON.parse(failed[0])
      expect(entry.reqId).toBe(id)
      expect(entry.err.message).toBe('cannot reach postgres://steme:***@db/steme for [redacted]')
      expect(log).not.toContain('hunter2')
      expect(log).not.toContain(secret)
    } finally {
      await server.close()
      await rt.close()
    }
  })
})
