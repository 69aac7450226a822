/**
 * The daemon's store failing on its host's disk (a directory where DuckDB opens its write-ahead
 * log): the 500 says it is the host's files, not a bug; and stopping the daemon, whose store then
 * cannot be closed cleanly, ends with steme's own error, not a raw one.
 */
import {mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {initHash} from '../../src/core/hash.js'
import {assertion} from '../helpers/records.js'
import {inFreshStore, startDaemon} from './daemon.js'
import {ndjson} from './harness.js'

describe('a store I/O failure under the daemon', () => {
  it('is answered as the host failing, and stopping the daemon reports the store it could not close', async () => {
    await inFreshStore(async (e) => {
      const d = await startDaemon(e, ['--json'])
      try {
        mkdirSync(join(e.dir, '.steme', 'store.duckdb.wal'))
        await initHash()
        const res = await fetch(`${d.url}/v1/records`, {
          method: 'POST',
          headers: {authorization: `Bearer ${d.token}`, 'content-type': 'application/x-ndjson'},
          body: ndjson([assertion({subject: 's', predicate: 'p', value: 1})]),
        })
        expect(res.status).toBe(500)
        const id = res.headers.get('x-request-id')!
        const {error} = await res.json()
        expect(error.code).toBe('internal')
        expect(error.message).not.toMatch(/a bug/)
        expect(error.message).toMatch(/could not read or write its store's files/)
        expect(error.message).toContain(`request id ${id}`)
        // The client is told nothing of the host's paths: they are in the log.
        expect(JSON.stringify(error)).not.toContain(e.dir)
        // The daemon writes its log line after the answer, through a pipe: wait for it to arrive.
        for (let i = 0; i < 100 && !/"msg":"request failed"/.test(d.log()); i++) await new Promise((r) => setTimeout(r, 50))
        expect(d.log()).toMatch(/"msg":"request failed"/)
      } finally {
        await d.stop()
      }
      const log = d.log()
      expect(await d.exited).toBe(1)
      // steme's own rendering, with a hint; never oclif's indented raw "Error:".
      expect(log).toMatch(/^error: the store \S+store\.duckdb could not be closed cleanly: .*Is a directory$/m)
      expect(log).toMatch(/^hint: fix what kept it from writing its files .*`steme fsck`$/m)
      expect(log).not.toMatch(/^\s+Error: /m)
      // With --json the error is the document on stdout, not the result as if all went well.
      const doc = log.slice(log.lastIndexOf('\n{"error"') + 1).split('\n')[0]
      expect(JSON.parse(doc).error.code).toBe('integrity')
      expect(log).not.toMatch(/^\{\n\s+"url"/m)
    })
  })
})
