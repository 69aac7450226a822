/** `sync-serve --http` on an address it cannot take: a config error naming it, as `steme serve` reports it. */
import {createServer, type Server} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

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
