/** Shutdown and writes in flight: the daemon closes only once every request handler has finished with the store. */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {DuckDBStore} from '../../src/adapters/duckdb/index.js'
import {openRuntime, type Runtime} from '../../src/runtime.js'
import {createServer, type Server} from '../../src/serve/app.js'
import {TokenFile} from '../../src/serve/tokens.js'
import {assertion, testKey} from '../helpers/records.js'
import {ndjson} from './harness.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, {recursive: true, force: true})
})

/** A promise and the function that settles it. */
function gate(): {wait: Promise<void>; open: () => void} {
  let open!: () => void
  const wait = new Promise<void>((r) => (open = r))
  return {wait, open}
}

describe('shutdown with a POST /v1/records still at work', () => {
  it('close() waits for the ingest to finish its writes (past the grace period), so the store is never closed under it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'steme-shutdown-'))
    dirs.push(dir)
    const rt: Runtime = await openRuntime({store: join(dir, 'store.duckdb'), create: true, env: {XDG_CONFIG_HOME: join(dir, 'xdg')}})
    const tokens = new TokenFile(join(dir, 'state', 'tokens.json'))
    const write = tokens.create('write', 'w').token
    // The ingest's last write (the store's clock) is held until the test lets it go: the request is
    // still at work on the store when shutdown's grace period for connections runs out.
    const held = gate()
    const reached = gate()
    let closedUnderIt = false
    let serverClosed = false
    const deps = {
      ...rt,
      saveClock: async () => {
        reached.open()
        await held.wait
        if (serverClosed) closedUnderIt = true
        await rt.saveClock()
      },
    }
    const server: Server = await createServer({deps, tokens, threads: 0, requestTimeout: 300})
    const url = await server.app.listen({host: '127.0.0.1', port: 0})
    const records = Array.from({length: 50}, (_, i) => assertion({subject: `shut:${i}`, value: i}, testKey(9)))
    const posted = fetch(`${url}/v1/records`, {method: 'POST', headers: {authorization: `Bearer ${write}`, 'content-type': 'application/x-ndjson'}, body: ndjson(records)}).catch((e: unknown) => e)
    await reached.wait
    const closing = server.close().then(() => {
      serverClosed = true
      return 'closed' as const
    })
    // Well past the grace period (300 ms): the connection is dropped, the handler is not done.
    const first = await Promise.race([closing, new Promise<'waiting'>((r) => setTimeout(() => r('waiting'), 2000))])
    expect(first).toBe('waiting')
    held.open()
    expect(await closing).toBe('closed')
    expect(closedUnderIt).toBe(false)
    await posted
    // Every record the request stored is counted, and the store closes and reopens whole.
    expect(server.metrics.totals.stored).toBe(50)
    await rt.close()
    const store = await DuckDBStore.open(join(dir, 'store.duckdb'))
    try {
      const have = await store.has(records.map((r) => r.record.id))
      expect(have.size).toBe(50)
    } finally {
      await store.close()
    }
  })
})
