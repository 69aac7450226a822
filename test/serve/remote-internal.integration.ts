/**
 * A daemon's `internal` error, met by the CLI over --remote: said as code `internal` (exit 1, as any
 * bug), with the daemon's own message (its request id) and a hint that the failure is on the daemon,
 * whose log has the details; not as a `remote` failure to reach it.
 *
 * Two real triggers in a real `steme serve`: a bug, put in the daemon process alone by a module
 * preloaded with --import (only here, through NODE_OPTIONS), which makes its store's stats() throw;
 * and its store's files failing on its host (a directory where DuckDB opens its write-ahead log),
 * which the daemon answers as `internal` with a hint of its own.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import {describe, expect, it} from 'vitest'
import {inFreshStore, startDaemon, steme} from './daemon.js'

const STORE_MODULE = pathToFileURL(resolve(import.meta.dirname, '../../dist/adapters/duckdb/index.js')).href

const STATS_BUG = `const {DuckDBStore} = await import(${JSON.stringify(STORE_MODULE)})
DuckDBStore.prototype.stats = async function () { throw new TypeError('stats simulated bug') }
`

type ErrorDoc = {error: {code: string; message: string; hint?: string}}

describe('an internal error on the daemon, over --remote', () => {
  it('a bug in the daemon: code internal, exit 1, its message and request id, and a hint that the bug and its stack are on the daemon', async () => {
    await inFreshStore(async (e) => {
      const preload = join(e.dir, 'stats-bug.mjs')
      writeFileSync(preload, STATS_BUG)
      const d = await startDaemon({dir: e.dir, env: {...e.env, NODE_OPTIONS: `--import=${pathToFileURL(preload).href}`}})
      try {
        const r = await steme(e, ['stats', '--remote', d.url, '--token', d.token, '--json'])
        expect(r.code, r.stderr).toBe(1)
        const {error} = JSON.parse(r.stdout) as ErrorDoc
        expect(error.code).toBe('internal')
        const id = /under request id (\S+)\)/.exec(error.message)?.[1]
        expect(id, error.message).toBeDefined()
        expect(error.message).toBe(`internal error (a bug in steme serve; the server log has details under request id ${id}) (from ${d.url})`)
        expect(error.hint).toMatch(/^the bug is in the daemon at \S+, not in this command: its log has the stack trace under request id \S+; please report it with that log entry/)
        expect(error.hint).toContain(`request id ${id}`)
        // Never the daemon's stack, nor the cause of the bug, on this side.
        expect(r.stdout + r.stderr).not.toContain('stats simulated bug')
        expect(r.stderr).toMatch(/^error: internal error \(a bug in steme serve; /)
        expect(r.stderr).toContain('\nhint: the bug is in the daemon at ')
        // The daemon's log has it, under that request id.
        for (let i = 0; i < 100 && !d.log().includes('stats simulated bug'); i++) await new Promise((r) => setTimeout(r, 50))
        expect(d.log()).toContain('stats simulated bug')
        expect(d.log()).toContain(id)
      } finally {
        await d.stop()
      }
    })
  })

  it("its store's files failing on its host: code internal, exit 1, with the daemon's own message and hint", async () => {
    await inFreshStore(async (e) => {
      const d = await startDaemon(e)
      try {
        mkdirSync(join(e.dir, '.steme', 'store.duckdb.wal'))
        const r = await steme(e, ['assert', 's', 'p', '1', '--remote', d.url, '--token', d.token, '--json'])
        expect(r.code, r.stderr).toBe(1)
        const {error} = JSON.parse(r.stdout) as ErrorDoc
        expect(error.code).toBe('internal')
        expect(error.message).toMatch(/^internal error: the daemon could not read or write its store's files, .*under request id \S+\) \(from http:/)
        // The daemon's hint first; then, as for any write the daemon failed, that the record may be in.
        expect(error.hint).toMatch(/^ask the daemon's operator to fix what the log names, then send the request again\. The records sent in the request that failed may be stored or not/)
        // An ingest through it: the same code and exit, and what it had stored of this command's records.
        const ing = await steme(e, ['ingest', '-', '--remote', d.url, '--token', d.token, '--json'], '{"subject":"s","predicate":"p","value":2}\n')
        expect(ing.code, ing.stderr).toBe(1)
        const doc = JSON.parse(ing.stdout) as ErrorDoc
        expect(doc.error.code).toBe('internal')
        expect(doc.error.message).toMatch(/^internal error: the daemon could not read or write its store's files, .*; the daemon had stored 0 records this command sent before that/)
        expect(doc.error.hint).toMatch(/^ask the daemon's operator to fix what the log names, then send the request again\. The records sent in the request that failed may be stored or not/)
      } finally {
        await d.stop()
      }
    })
  })
})
