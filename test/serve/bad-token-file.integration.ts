/** `steme serve` with a token file that is not one: it ends with the error, and leaves no daemon named in serve.json. */
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {inFreshStore} from './daemon.js'

const BIN = resolve(import.meta.dirname, '../../bin/run.js')

describe('steme serve with a damaged tokens.json', () => {
  it('fails before it listens: the process ends, and no serve.json sends local commands to it', async () => {
    await inFreshStore(async (e) => {
      const state = join(e.dir, '.steme', 'state')
      mkdirSync(state, {recursive: true})
      writeFileSync(join(state, 'tokens.json'), 'not json\n')
      const proc = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {cwd: e.dir, env: e.env, stdio: ['ignore', 'pipe', 'pipe']})
      let out = ''
      proc.stdout.on('data', (d) => (out += d))
      proc.stderr.on('data', (d) => (out += d))
      const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)))
      // Ended by itself (a daemon that failed this way went on listening, its store closed under it).
      const ended = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 20_000))])
      try {
        expect(ended).toBe(2)
        expect(out).toMatch(/^error: \S+tokens\.json is not a valid token file$/m)
        expect(out).not.toMatch(/Server listening/)
        expect(existsSync(join(state, 'serve.json'))).toBe(false)
      } finally {
        if (proc.exitCode === null) proc.kill('SIGKILL')
      }
    })
  })
})
