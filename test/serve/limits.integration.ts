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

describe('body time and shutdown', () => {
  it('a stalled body gets 408 within about --timeout, and shutdown drops a stalled upload after it', async () => {
    const h = await startHarness({requestTimeout: 500})
    let stopped = false
    try {
      const t0 = Date.now()
      const first = stalledUpload(h.url, h.write)
      expect(await first.answer).toMatch(/^HTTP\/1.1 408/)
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
})
