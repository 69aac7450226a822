/** A second `steme serve` on a store one already serves: it says so, and what its clients and its operator can do. */
import {describe, expect, it} from 'vitest'
import {inFreshStore, startDaemon, steme} from './daemon.js'

describe('a second steme serve on the same store', () => {
  it('exits 1 saying the store is served already, where, and how to stop the first', async () => {
    await inFreshStore(async (e) => {
      const d = await startDaemon(e)
      try {
        const second = await steme(e, ['serve', '--port', '0'])
        expect(second.code).toBe(1)
        expect(second.stderr).toContain(`is held by \`steme serve\` (pid ${d.proc.pid}, ${d.url}): this store is served already`)
        expect(second.stderr).toContain(`--remote ${d.url}`)
        expect(second.stderr).toContain(`kill -TERM ${d.proc.pid}`)
        // The hint of commands that go through the daemon is no answer for a daemon.
        expect(second.stderr).not.toMatch(/go through it on their own/)
        expect(second.stderr).not.toMatch(/IO Error|Could not set lock/)
      } finally {
        await d.stop()
      }
    })
  }, 60_000)
})
