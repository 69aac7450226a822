/** Body size, body time and shutdown limits over real HTTP, and what clients are told when they hit them. */
import {execFile} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {UserError} from '../../src/core/errors.js'
import {RemoteClient} from '../../src/serve/client.js'
import {assertion} from '../helpers/records.js'
import {ndjson, startHarness, type Harness} from './harness.js'

const LIMIT = 64 * 1024
const many = (n: number, tag: string) => Array.from({length: n}, (_, i) => assertion({subject: `${tag}:${i}`, value: 'x'.repeat(100)}))

/** Send headers and part of a body, then stall; resolves with what the server answers (or '' when it drops the connection). */
function stalledUpload(url: string, token: string): {answer: Promise<string>; started: Promise<void>} {
  const u = new URL(url)
  const sock = connect(Number(u.port), u.hostname)
  let text = ''
  const started = new Promise<void>((r) => sock.on('connect', () => sock.write(`POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(100)}`, () => r())))
  const answer = new Promise<string>((r) => {
    sock.on('data', (d) => (text += d))
    sock.on('close', () => r(text))
    sock.on('error', () => r(text))
  })
  return {answer, started}
}

describe('body size', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({bodyLimit: LIMIT})
  })
  afterAll(async () => {
    await h.stop()
  })

  it('the remote store splits batches by bytes, whether or not it has learned the limit', async () => {
    const records = many(600, 'big')
    expect(ndjson(records).length).toBeGreaterThan(4 * LIMIT)
    // Not told the limit yet: the first POST gets a 413 and is split until it fits.
    const blind = new RemoteClient(h.url, h.write)
    expect(await blind.store().insert(records.slice(0, 300))).toEqual({added: 300, present: 0})
    // Told by any answer (here /v1/stats, which `deps()` reads for the clock): no 413 at all.
    const told = new RemoteClient(h.url, h.write)
    await told.clock()
    expect(told.bodyLimit).toBe(LIMIT)
    expect(await told.store().insert(records)).toEqual({added: 300, present: 300})
    expect((await h.req('/v1/stats', {token: h.read})).body.records).toBe(600)
  })

  it('a 413 names the limit and --body-limit, and a client still writing the body hears it', async () => {
    const r = await h.req('/v1/records', {method: 'POST', headers: {'content-type': 'application/x-ndjson'}, body: 'a'.repeat(2 * LIMIT), token: h.write})
    expect(r.status).toBe(413)
    expect(r.body.error.message).toMatch(/body limit of 65536 bytes/)
    expect(r.body.error.hint).toMatch(/--body-limit/)
    // Far over the limit, the daemon answers on the Content-Length and closes while the client still writes.
    const err = await new RemoteClient(h.url, h.write).postRecords('a'.repeat(8 * 1024 * 1024)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UserError)
    expect((err as UserError).code).toBe('too_large')
    expect((err as UserError).message).not.toMatch(/cannot reach/)
    expect((err as UserError).hint).toMatch(/--body-limit/)
  })

  it('says what is wrong with a body: not an array, a broken object, a wrong type, an encoding', async () => {
    const post = (body: string | Buffer, headers: Record<string, string>) => h.req('/v1/records', {method: 'POST', headers, body, token: h.write})
    for (const b of ['null', '42', '"x"']) {
      const r = await post(b, {'content-type': 'application/json'})
      expect(r.status, b).toBe(400)
      expect(r.body.error.message).not.toMatch(/starts with \[/)
      expect(r.body.error.message).toContain(b === 'null' ? 'not null' : b)
    }
    const broken = await post('{"a":', {'content-type': 'application/json'})
    expect(broken.status).toBe(400)
    expect(broken.body.error.message).not.toContain('[')
    const plain = await post('x', {'content-type': 'text/plain'})
    expect(plain.status).toBe(415)
    expect(plain.body.error.message).toContain('text/plain')
    expect(plain.body.error.hint).toMatch(/application\/x-ndjson.*application\/json/)
    const {gzipSync} = await import('node:zlib')
    const gz = await post(gzipSync('{}\n'), {'content-type': 'application/x-ndjson', 'content-encoding': 'gzip'})
    expect(gz.status).toBe(415)
    expect(gz.body.error.message).toMatch(/content-encoding gzip/)
  })

  it('a wrong token is a configuration error for the CLI (exit 2), as a missing one is', async () => {
    const err = await new RemoteClient(h.url, h.revoked).clock().catch((e: unknown) => e)
    expect(err).toMatchObject({code: 'unauthorized', exit: 2})
    const low = await new RemoteClient(h.url, h.read).postRecords('').catch((e: unknown) => e)
    expect(low).toMatchObject({code: 'forbidden', exit: 2})
  })
})

describe('body time and shutdown', () => {
  it('a stalled body gets 408 within about --timeout, and shutdown drops a stalled upload after it', async () => {
    const h = await startHarness({requestTimeout: 500})
    let stopped = false
    try {
      const t0 = Date.now()
      const first = stalledUpload(h.url, h.write)
      const answer = await first.answer
      expect(answer).toMatch(/^HTTP\/1.1 408/)
      // It names the limit and the flag that sets it, and what the client can do.
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))
      expect(body.error).toMatchObject({code: 'timeout'})
      expect(body.error.message).toContain('0.5 s (--timeout)')
      expect(body.error.hint).toMatch(/without pausing/)
      expect(Date.now() - t0).toBeLessThan(3000)
      const second = stalledUpload(h.url, h.write)
      await second.started
      const t1 = Date.now()
      await h.stop()
      stopped = true
      expect(Date.now() - t1).toBeLessThan(3000)
      await second.answer
    } finally {
      if (!stopped) await h.stop()
    }
  })
})

describe('steme serve --tls-cert/--tls-key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'steme-tls-bad-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))

  it('a file that is not PEM is a config error naming it (exit 2), and the process exits', async () => {
    const bad = join(dir, 'bad.pem')
    writeFileSync(bad, 'garbage\n')
    const env = {...process.env, XDG_CONFIG_HOME: join(dir, 'xdg'), STEME_STORE: join(dir, '.steme')}
    const r = await promisify(execFile)(process.execPath, [resolve(import.meta.dirname, '../../bin/run.js'), 'serve', '--port', '0', '--tls-cert', bad, '--tls-key', bad], {env, cwd: dir, timeout: 20_000}).catch((e: {code: number; stderr: string}) => e)
    expect('code' in r ? r.code : 0).toBe(2)
    expect((r as {stderr: string}).stderr).toContain(`--tls-cert ${bad} is not a PEM certificate`)
    expect((r as {stderr: string}).stderr).not.toMatch(/internal error/)
  })

  it('a file that is not there is named with its flag and the reason in words; one flag alone is said on one line', async () => {
    // As a user runs it: vitest's NODE_ENV=test would add oclif's development warnings.
    const env = {PATH: process.env.PATH, HOME: dir, XDG_CONFIG_HOME: join(dir, 'xdg'), STEME_STORE: join(dir, '.steme')}
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, [resolve(import.meta.dirname, '../../bin/run.js'), 'serve', '--port', '0', ...args], {env, cwd: dir, timeout: 20_000}).catch((e: {code: number; stderr: string}) => e)
    const missing = await run(['--tls-cert', 'cert.pem', '--tls-key', 'key.pem'])
    expect('code' in missing ? missing.code : 0).toBe(2)
    expect((missing as {stderr: string}).stderr).toBe('error: cannot read --tls-cert cert.pem: no such file or directory\nhint: pass PEM files to --tls-cert and --tls-key\n')
    const alone = await run(['--tls-cert', 'cert.pem'])
    expect('code' in alone ? alone.code : 0).toBe(2)
    expect((alone as {stderr: string}).stderr).toBe('error: All of the following must be provided when using --tls-cert: --tls-key\nhint: see `steme serve --help`\n')
  })
})
