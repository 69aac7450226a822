/**
 * A daemon over a store with a damaged row (its stored text changed to no record by SQL on the
 * DuckDB file): the routes that reach the row answer 500 with code integrity and the record's
 * id, as a local read's --json error gives it, and the CLI going through the daemon keeps it.
 */
import {describe, expect, it} from 'vitest'
import {tamperStore} from '../helpers/cli.js'
import {inFreshStore, startDaemon, steme} from './daemon.js'

describe('a daemon over a damaged store', () => {
  it('answers integrity with the damaged record id, over HTTP and to the CLI', async () => {
    await inFreshStore(async (e) => {
      const ids: string[] = []
      for (const subject of ['d:x', 'd:y']) {
        const r = await steme(e, ['assert', subject, 'p', 'v'])
        expect(r.code).toBe(0)
        ids.push(r.stdout.trim())
      }
      tamperStore(e, `UPDATE records SET canonical = '{' WHERE id = unhex('${ids[0]}')`)
      const d = await startDaemon(e)
      try {
        const auth = {authorization: `Bearer ${d.token}`}
        for (const path of [`/v1/records/${ids[0]}`, '/v1/log', '/v1/query?subject=d:x']) {
          const res = await fetch(`${d.url}${path}`, {headers: auth})
          expect(res.status, path).toBe(500)
          const {error} = (await res.json()) as {error: {code: string; message: string; hint: string; id?: string}}
          expect(error.code, path).toBe('integrity')
          expect(error.id, path).toBe(ids[0])
          expect(error.message, path).toContain(`record ${ids[0]} in the store is damaged: its stored text is not JSON`)
          expect(error.hint, path).toContain('steme fsck')
        }
        // The store is held by the daemon: local commands go through it.
        const r = await steme(e, ['show', ids[0], '--json'])
        expect(r.stderr).toContain('holds this store: going through it')
        expect(r.code).toBe(1)
        const doc = JSON.parse(r.stdout) as {error: {code: string; id?: string; message: string}}
        expect(doc.error.code).toBe('integrity')
        expect(doc.error.id).toBe(ids[0])
        // A sound record about another subject still answers.
        expect((await steme(e, ['show', ids[1], '--json'])).code).toBe(0)
        expect(d.proc.exitCode).toBe(null)
      } finally {
        await d.stop()
      }
    })
  })
})
