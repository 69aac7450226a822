/** `steme conflicts` without --limit keeps its sorted runs in a temporary directory: a signal that ends it must not leave them behind. */
import {spawn} from 'node:child_process'
import {mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RUN_ROWS} from '../../src/ops/conflicts.js'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

describe('conflicts without a limit, interrupted', () => {
  let sb: Sandbox
  // More contested pairs than one run holds, so at least one run is written to disk.
  const pairs = RUN_ROWS + 1000
  beforeAll(() => {
    sb = sandbox('steme-conflicts-int-')
    expect(sb.run(['init', '--dir', sb.dir]).code).toBe(0)
    expect(sb.run(['keys', 'generate', '--name', 'other']).code).toBe(0)
    // Each pair: value "a" by the default key, "b" by the other one.
    for (const [file, value] of [['a.csv', 'a'], ['b.csv', 'b']]) {
      const rows = ['subject,predicate,value']
      for (let i = 0; i < pairs; i++) rows.push(`s:${i},p,${value}`)
      writeFileSync(join(sb.dir, file), rows.join('\n') + '\n')
    }
    expect(sb.run(['ingest', 'a.csv']).code).toBe(0)
    expect(sb.run(['ingest', 'b.csv', '--key', 'other']).code).toBe(0)
  })
  afterAll(() => sb.cleanup())

  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('removes its sorted runs on %s, and dies of it', async (signal) => {
    const tmp = join(sb.dir, `tmp-${signal}`)
    mkdirSync(tmp)
    const r = await new Promise<{code: number | null; signal: NodeJS.Signals | null; before: string[]}>((resolve) => {
      const p = spawn(process.execPath, [BIN, 'conflicts'], {cwd: sb.dir, env: {...sb.env, TMPDIR: tmp}})
      let before: string[] = []
      // The heading comes once the ranking is on disk; the reader then stops reading, so the
      // listing waits on a full pipe, its runs still there, until the signal comes.
      p.stdout.once('data', () => {
        p.stdout.pause()
        before = readdirSync(tmp)
        p.kill(signal)
      })
      p.on('close', (code, sig) => resolve({code, signal: sig, before}))
    })
    expect(r.before).toEqual([expect.stringMatching(/^steme-sort-/)])
    expect(r.signal === signal || r.code === 128 + {SIGINT: 2, SIGTERM: 15, SIGHUP: 1}[signal]).toBe(true)
    expect(readdirSync(tmp)).toEqual([])
  })
})
