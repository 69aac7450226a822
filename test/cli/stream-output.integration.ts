/** Listings of the whole store (log, export): a reader that stops ends them quietly. */
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

/** Run steme, read its first chunk of stdout, then close the pipe as `| head -1` does; resolves with how it ended. */
function readFirstThenClose(sb: Sandbox, args: string[]): Promise<{code: number | null; signal: string | null; first: string; stderr: string}> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], {cwd: sb.dir, env: sb.env})
    let first = ''
    let stderr = ''
    p.stderr.on('data', (d) => (stderr += d))
    p.stdout.once('data', (d) => {
      first = String(d)
      p.stdout.destroy()
    })
    p.on('close', (code, signal) => resolve({code, signal, first, stderr}))
  })
}

describe('a reader that closes the pipe early', () => {
  let sb: Sandbox
  beforeAll(() => {
    sb = sandbox('steme-pipe-')
    expect(sb.run(['init', '--dir', sb.dir]).code).toBe(0)
    // Far more than a pipe holds (64 KiB), in every format.
    writeFileSync(join(sb.dir, 'facts.ndjson'), Array.from({length: 3000}, (_, i) => JSON.stringify({subject: `s:${i}`, predicate: 'p', value: `value ${i}`})).join('\n') + '\n')
    expect(sb.run(['ingest', 'facts.ndjson']).code).toBe(0)
  })
  afterAll(() => sb.cleanup())

  it('ends log, log --json and export, exit 0 and nothing on stderr, as `git log | head` does', async () => {
    for (const args of [['log'], ['log', '--json'], ['export']]) {
      const r = await readFirstThenClose(sb, args)
      expect(r.first.length, args.join(' ')).toBeGreaterThan(0)
      expect({args, code: r.code, signal: r.signal, stderr: r.stderr}).toEqual({args, code: 0, signal: null, stderr: ''})
    }
  })
})
