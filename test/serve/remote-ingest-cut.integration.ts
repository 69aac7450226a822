/** `steme ingest` through a daemon that stops part way: the error says how much the daemon had stored, and what sending the input again would do. */
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {inFreshStore, startDaemon, steme} from './daemon.js'

const BIN = resolve(import.meta.dirname, '../../bin/run.js')

describe('steme ingest through a daemon that stops part way', () => {
  it('says how many records the daemon had stored, and that plain facts sent again would be stored twice', async () => {
    await inFreshStore(async (e) => {
      // Plain facts, signed by the CLI; a 1 MiB body limit makes them several POSTs.
      const facts = Array.from({length: 12_000}, (_, i) => JSON.stringify({subject: `cut:${i}`, predicate: 'p', value: i})).join('\n') + '\n'
      const file = join(e.dir, 'facts.ndjson')
      writeFileSync(file, facts)
      const d = await startDaemon(e, ['--body-limit', '1'])
      const stats = async (): Promise<number> => {
        const r = await fetch(`${d.url}/v1/stats`, {headers: {authorization: `Bearer ${d.token}`}}).catch(() => undefined)
        return r?.ok ? ((await r.json()) as {records: number}).records : -1
      }
      // The store is held by the daemon, so the command goes through it.
      const cli = spawn(process.execPath, [BIN, 'ingest', file], {cwd: e.dir, env: e.env, stdio: ['ignore', 'pipe', 'pipe']})
      let stderr = ''
      cli.stderr.on('data', (b) => (stderr += b))
      const exit = new Promise<number | null>((r) => cli.on('exit', (code) => r(code)))
      // Once the first POST is stored, the daemon is told to stop: the rest cannot go in.
      while ((await stats()) <= 0) await new Promise((r) => setTimeout(r, 50))
      d.proc.kill('SIGTERM')
      expect(await d.exited).toBe(0)
      expect(await exit).toBe(1)
      const stored = /had stored (\d+) records? this command sent/.exec(stderr)
      expect(stored, stderr).not.toBeNull()
      // The daemon is gone: the store is read here, as it now is.
      const after = JSON.parse((await steme(e, ['stats', '--json'])).stdout).records as number
      expect(Number(stored![1])).toBeGreaterThan(0)
      // The batch in flight when it failed may have gone in too; none is counted that did not.
      expect(Number(stored![1])).toBeLessThanOrEqual(after)
      expect(after).toBeLessThan(12_000)
      expect(stderr).toMatch(/plain facts are signed anew each time/)
    })
  }, 120_000)
})
