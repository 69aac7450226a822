/** What pull, push and sync say about remotes that cannot be used: no secrets echoed, no retries of what will fail again, hints for the remote. */
import {createServer, type RequestListener, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {appendFileSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
const a = () => join(sb.dir, 'a')

beforeAll(() => {
  sb = sandbox('steme-sync-remote-errors-')
  mkdirSync(a())
  expect(sb.run(['init'], {cwd: a()}).code).toBe(0)
})
afterAll(() => sb?.cleanup())

/** An HTTP server answering every request with `handler`, for the length of `fn`. */
async function withServer<T>(handler: RequestListener, fn: (url: string) => Promise<T>): Promise<T> {
  const srv: Server = createServer(handler)
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  try {
    return await fn(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`)
  } finally {
    srv.closeAllConnections()
    await new Promise((r) => srv.close(r))
  }
}

describe('credentials in a remote URL', () => {
  const secret = 'stm_S3CRETtoken'

  it('pull refuses them up front (exit 2, no retries), and never prints the token', () => {
    const r = sb.run(['pull', `http://user:${secret}@127.0.0.1:9`], {cwd: a()})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/carries credentials/)
    expect(r.stderr).toMatch(/STEME_TOKEN/)
    expect(r.stderr).not.toMatch(/retry/)
    expect(r.stdout + r.stderr).not.toContain(secret)
  })

  it('remote add refuses them, and remote list hides any a config holds', () => {
    const add = sb.run(['remote', 'add', 'srv', `http://${secret}@127.0.0.1:9`, '--json'], {cwd: a()})
    expect(add.code).toBe(2)
    expect(add.stdout + add.stderr).not.toContain(secret)
    appendFileSync(join(a(), '.steme', 'config.toml'), `\n[remotes]\nhand = "http://user:${secret}@127.0.0.1:9"\n`)
    const list = sb.run(['remote', 'list'], {cwd: a()})
    expect(list.code).toBe(0)
    expect(list.stdout).toMatch(/hand +http +http:\/\/\*\*\*@127\.0\.0\.1:9/)
    const json = sb.run(['remote', 'list', '--json'], {cwd: a()})
    expect(json.stdout).not.toContain(secret)
    const pull = sb.run(['pull', 'hand'], {cwd: a()})
    expect(pull.code).toBe(2)
    expect(pull.stdout + pull.stderr).not.toContain(secret)
    expect(sb.run(['remote', 'remove', 'hand'], {cwd: a()}).code).toBe(0)
  })
})
