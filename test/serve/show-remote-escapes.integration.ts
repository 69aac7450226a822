/** `steme show --remote` prints the daemon's words as fields: a hostile daemon cannot drive the terminal. */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {rmSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {makeEnv, steme, type Env} from './daemon.js'

const ESC = '\u001b'
const id = 'a'.repeat(64)

describe('show --remote against a daemon that sends control characters', () => {
  let server: Server
  let url: string
  let e: Env
  beforeAll(async () => {
    e = makeEnv('steme-show-remote-')
    server = createServer((req, res) => {
      res.writeHead(200, {'content-type': 'application/json'})
      res.end(
        JSON.stringify({
          record: {v: 1, kind: 'trust', agent: 'b'.repeat(64), hlc: '0000019774301e3f-0000', target: `${ESC}]0;PWNED\u0007${ESC}[31mRED`, weight: 1, id, sig: 'c'.repeat(128)},
          signature: `valid${ESC}[2J`,
          cites: [{rel: `evidence${ESC}[1m`, id: `${'d'.repeat(64)}\nforged: line`, found: true}],
          citedBy: [{kind: `vote${ESC}[31m`, rel: 'vote', id: 'e'.repeat(64)}],
          state: `standing${ESC}[5m`,
        }),
      )
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()))
    rmSync(e.dir, {recursive: true, force: true})
  })

  it('no control character reaches stdout; each shows as its escape', async () => {
    const r = await steme({dir: e.dir, env: {...e.env, STEME_TOKEN: 'stm_x'}}, ['show', id.slice(0, 8), '--remote', url])
    expect(r.stderr).not.toMatch(/internal error/)
    // Only the layout's own newlines are raw.
    expect(r.stdout.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f]/)
    expect(r.stdout).toContain('signature: valid\\u001b[2J')
    expect(r.stdout).toContain('endorses agent: \\u001b]0;PWNED\\u0007\\u001b[31mRED (weight 1)')
    expect(r.stdout).toContain(`cites (evidence\\u001b[1m): ${'d'.repeat(64)}\\nforged: line`)
    expect(r.stdout).not.toMatch(/^forged: line/m)
    expect(r.stdout).toContain(`cited by vote\\u001b[31m (vote): ${'e'.repeat(64)}`)
    expect(r.stdout).toContain('state: standing\\u001b[5m')
  })
})
