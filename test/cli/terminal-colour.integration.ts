/** Colour on a real terminal (a pty from util-linux `script`), and none where the terminal or the user says no. */
import {spawnSync} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'
import {shellWord} from '../../src/core/words.js'

let sb: Sandbox
beforeAll(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
  expect(sb.run(['assert', 'drug:aspirin', 'bleeding_rate', '0.002']).code).toBe(0)
})
afterAll(() => sb.cleanup())

/** steme run with its stdout on a terminal. */
function onTerminal(args: string[], env: NodeJS.ProcessEnv): string {
  const command = [process.execPath, BIN, ...args].map(shellWord).join(' ')
  const {NO_COLOR: _none, ...rest} = sb.env
  const r = spawnSync('script', ['-qec', command, '/dev/null'], {cwd: sb.dir, env: {...rest, ...env}, input: '', encoding: 'utf8'})
  expect(r.status, r.stderr).toBe(0)
  return r.stdout
}

describe('colour on a terminal', () => {
  it('is drawn on a terminal that shows it, and not with TERM=dumb or NO_COLOR', () => {
    const coloured = onTerminal(['query', 'drug:aspirin'], {TERM: 'xterm-256color'})
    expect(coloured).toContain('\x1b[1mdrug:aspirin\x1b[22m')
    for (const env of [{TERM: 'dumb'}, {TERM: 'xterm-256color', NO_COLOR: '1'}]) {
      const plain = onTerminal(['query', 'drug:aspirin'], env)
      expect(plain).toContain('drug:aspirin  (lens recency)')
      expect(plain).not.toContain('\x1b[')
    }
  })
})
