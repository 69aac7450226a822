/**
 * `sync-serve --stdio --store <path>` (what an SSH sync runs on the remote) starts without
 * oclif; any other form goes through oclif. Both must serve the same protocol and report the
 * same errors with the same exit codes.
 */
import {spawn} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MessageReader, PREAMBLE, frameMessage} from '../../src/sync/framing.js'
import {fastSyncServeArgs} from '../../src/sync/stdio-main.js'
import {CAPS} from '../../src/sync/server.js'
import {PROTOCOL, T, VERSION, decode, encode} from '../../src/sync/wire.js'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

/** Run steme with binary stdin and stdout. */
function runBinary(args: string[], input: Uint8Array, cwd: string, env: NodeJS.ProcessEnv): Promise<{code: number; stdout: Buffer; stderr: string}> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], {cwd, env})
    const out: Buffer[] = []
    let stderr = ''
    p.stdout.on('data', (d: Buffer) => out.push(d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('close', (code) => resolve({code: code ?? -1, stdout: Buffer.concat(out), stderr}))
    p.stdin.end(input)
  })
}

let sb: Sandbox
beforeAll(() => {
  sb = sandbox('steme-stdio-')
  expect(sb.run(['init', '--dir', 'store']).code).toBe(0)
})
afterAll(() => sb?.cleanup())

describe('sync-serve --stdio', () => {
  it('takes the oclif-free start for the exact remote form only', () => {
    expect(fastSyncServeArgs(['sync-serve', '--stdio', '--store', '/srv/a b'])).toBe('/srv/a b')
    expect(fastSyncServeArgs(['sync-serve', '--stdio', '--store', '--help'])).toBeUndefined()
    expect(fastSyncServeArgs(['sync-serve', '--stdio', '--read-only', '--store', '/srv'])).toBeUndefined()
    expect(fastSyncServeArgs(['sync-serve', '--store', '/srv', '--stdio'])).toBeUndefined()
    expect(fastSyncServeArgs(['sync-serve', '--stdio', '--store', '/srv', '--json'])).toBeUndefined()
  })

  // The first form starts without oclif, the second through it.
  const forms = (store: string) => [
    ['sync-serve', '--stdio', '--store', store],
    ['sync-serve', '--store', store, '--stdio'],
  ]

  it('answers a hello the same way by both starts', async () => {
    const hello = encode([{t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, caps: CAPS, mode: 'pull'}}])
    for (const args of forms('store')) {
      const r = await runBinary(args, frameMessage(hello), sb.dir, sb.env)
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout.subarray(0, PREAMBLE.length).toString()).toBe(PREAMBLE)
      const msgs = new MessageReader(true).push(r.stdout)
      expect(msgs).toHaveLength(1)
      const [head] = decode(msgs[0])
      expect(head).toMatchObject({t: T.Hello, hello: {proto: PROTOCOL, v: VERSION, records: 0}})
    }
  })

  it('refuses a length over the bound by both starts: ERROR too_large, exit 1, the store released', async () => {
    for (const args of forms('store')) {
      const r = await runBinary(args, Buffer.from([0xff, 0xff, 0xff, 0xff]), sb.dir, sb.env)
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toMatch(/^error: sync-serve: the peer announced a message of 4294967295 bytes/)
      expect(r.stderr).not.toMatch(/internal error/)
      const msgs = new MessageReader(true).push(r.stdout)
      expect(decode(msgs[0])).toMatchObject([{t: T.Error, code: 'too_large'}])
      expect(sb.run(['stats', '--store', 'store']).code).toBe(0)
    }
  })

  it('reports a missing store the same way by both starts: one error line, a hint, exit 2', () => {
    const results = forms('nowhere').map((args) => sb.run(args))
    for (const r of results) {
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^error: no store at .*nowhere.*\nhint: /)
      expect(r.stdout).toBe('')
    }
    expect(results[0].stderr).toBe(results[1].stderr)
  })
})
