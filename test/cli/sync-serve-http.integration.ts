/** `sync-serve --http` on an address it cannot take: a config error naming it, as `steme serve` reports it; on a port fetch refuses, it serves steme's client all the same. */
import {spawn} from 'node:child_process'
import {createServer, type Server} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'
import {freeFetchBlockedPort} from '../helpers/ports.js'

let sb: Sandbox
let taken: Server
let port: number
beforeAll(async () => {
  sb = sandbox('steme-sync-http-')
  expect(sb.run(['init', '--dir', 'store']).code).toBe(0)
  taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
  port = (taken.address() as {port: number}).port
})
afterAll(async () => {
  await new Promise((resolve) => taken?.close(resolve))
  sb?.cleanup()
})

describe('sync-serve --http', () => {
  it('a port in use: exit 2, the address and a hint, not an internal error', async () => {
    const r = await sb.runAsync(['sync-serve', '--store', 'store', '--http', String(port)])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`error: cannot listen on 127.0.0.1:${port}: EADDRINUSE\nhint: another process uses that port: pick another with --http (0 picks a free one)\n`)
  })

  it('a host that is not an address of this machine: exit 2 with a hint about --host', async () => {
    const r = await sb.runAsync(['sync-serve', '--store', 'store', '--http', '0', '--host', 'nonexistent.invalid'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^error: cannot listen on nonexistent\.invalid:0: E[A-Z_]+\nhint: check --host/)
  })
})

describe('sync-serve --http on a port fetch refuses', () => {
  it("serves it, says browsers and fetch will not connect, and steme's HTTP client pulls from it (it does not go through fetch)", async () => {
    const port = await freeFetchBlockedPort()
    // What the port is: fetch will not connect to it.
    const refused = (await fetch(`http://127.0.0.1:${port}/`).catch((e: Error) => e)) as Error
    expect((refused.cause as Error | undefined)?.message).toBe('bad port')
    expect(sb.run(['init', '--dir', 'served']).code).toBe(0)
    for (let i = 0; i < 3; i++) expect(sb.run(['assert', `drug:${i}`, 'rate', String(i), '--store', 'served']).code).toBe(0)
    const srv = spawn(process.execPath, [BIN, 'sync-serve', '--store', 'served', '--http', String(port)], {cwd: sb.dir, env: sb.env, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    srv.stderr!.on('data', (d) => (stderr += d))
    try {
      const url = await new Promise<string>((res, rej) => {
        srv.stdout!.once('data', (d) => res(String(d).trim()))
        srv.once('exit', (code) => rej(new Error(`exited ${code}`)))
      })
      expect(url).toBe(`http://127.0.0.1:${port}`)
      const r = await sb.runAsync(['pull', url, '--store', 'store', '--retries', '0', '--json'])
      expect(r.code, r.stderr).toBe(0)
      const s = JSON.parse(r.stdout)
      expect(s.local.added).toBe(3)
      expect(s.remoteRoot).toEqual(s.localRoot)
      expect(stderr).toBe(`note: port ${port} is one that browsers and fetch() refuse to connect to (a "bad port" of the fetch standard): steme's commands reach it, browsers and fetch-based clients will not; to serve those, pick another with --http\n`)
    } finally {
      srv.kill('SIGTERM')
      await new Promise((res) => (srv.exitCode !== null ? res(undefined) : srv.once('exit', res)))
    }
  })
})
