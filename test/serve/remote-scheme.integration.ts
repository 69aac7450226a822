/** The --remote commands, given a URL whose scheme the daemon does not speak, say which URL to use (as pull, push and sync do). */
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {inFreshStore, startDaemon, steme} from './daemon.js'

describe('--remote with the wrong scheme for the daemon', () => {
  it('https:// to a plain steme serve: says it does not speak TLS and to use http://', async () => {
    await inFreshStore(async (e) => {
      const d = await startDaemon(e)
      try {
        expect(d.url).toMatch(/^http:/)
        const wrong = d.url.replace(/^http:/, 'https:')
        const r = await steme(e, ['stats', '--remote', wrong, '--token', d.token])
        expect(r.code, r.stderr).toBe(1)
        expect(r.stderr).toContain(`error: cannot reach steme serve at ${wrong}: ${new URL(d.url).host} does not speak TLS`)
        expect(r.stderr).toContain(`hint: use ${d.url} `)
        expect(r.stderr).not.toMatch(/EPROTO/)
        const q = await steme(e, ['query', 'x', '--remote', wrong, '--token', d.token, '--json'])
        expect(q.code, q.stderr).toBe(1)
        const err = JSON.parse(q.stdout).error
        expect(err.message).toMatch(/does not speak TLS/)
        expect(err.hint).toContain(`use ${d.url}`)
      } finally {
        await d.stop()
      }
    })
  })

  it('http:// to steme serve --tls-cert: says it speaks TLS and to use https://', async () => {
    await inFreshStore(async (e) => {
      const cert = join(e.dir, 'cert.pem')
      const key = join(e.dir, 'key.pem')
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], {stdio: 'ignore'})
      const d = await startDaemon(e, ['--tls-cert', cert, '--tls-key', key])
      try {
        expect(d.url).toMatch(/^https:/)
        const wrong = d.url.replace(/^https:/, 'http:')
        // The right URL works here once the certificate is trusted: the hint names a URL that serves.
        const trusted = {...e, env: {...e.env, NODE_EXTRA_CA_CERTS: cert}}
        const ok = await steme(trusted, ['stats', '--remote', d.url, '--token', d.token])
        expect(ok.code, ok.stderr).toBe(0)
        const r = await steme(trusted, ['log', '--remote', wrong, '--token', d.token])
        expect(r.code, r.stderr).toBe(1)
        expect(r.stderr).toContain(`error: cannot reach steme serve at ${wrong}: ${new URL(d.url).host} speaks TLS`)
        expect(r.stderr).toContain(`hint: use ${d.url}\n`)
        expect(r.stderr).not.toMatch(/ECONNRESET|max-connections/)
      } finally {
        await d.stop()
      }
    })
  })
})
