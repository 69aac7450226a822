/**
 * SIGTERM with connections open that carry no request: the daemon closes them itself and stops,
 * rather than waiting for their clients to let go (Node's fetch keeps a spare connection 4 s; a
 * raw socket, for ever) or for --timeout. A request only partly sent is in flight: it keeps its
 * grace period, and is dropped only when --timeout runs out, as docs/serve.md says.
 */
import {execFileSync} from 'node:child_process'
import {connect, type Socket} from 'node:net'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {inFreshStore, startDaemon, type Env} from './daemon.js'

const GRACE_WARNING = 'dropping connections still open after the grace period'

/** A raw connection to the daemon at `url`, once open; its errors (a reset) are kept, not thrown. */
function open(url: string): Promise<Socket> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => {
      s.off('error', reject)
      s.on('error', () => undefined)
      resolve(s)
    })
    s.once('error', reject)
  })
}

/** `steme serve` flags for TLS with a fresh self-signed certificate for 127.0.0.1. */
function tlsFlags(e: Env): string[] {
  const cert = join(e.dir, 'cert.pem')
  const key = join(e.dir, 'key.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], {stdio: 'ignore'})
  return ['--tls-cert', cert, '--tls-key', key]
}

const closed = (s: Socket) => new Promise<void>((r) => (s.closed ? r() : s.once('close', () => r())))

/**
 * A daemon (over TLS or not) with one raw connection that sent `send` (or nothing), then SIGTERM:
 * the daemon closes that connection itself and exits 0, after the grace period (its warning in the
 * log) or without it.
 */
async function shutdownWith(o: {timeout: number; tls?: boolean; send?: (url: string) => string | Buffer; grace: boolean}): Promise<void> {
  await inFreshStore(async (e) => {
    const d = await startDaemon(e, ['--timeout', String(o.timeout), ...(o.tls ? tlsFlags(e) : [])])
    try {
      const conn = await open(d.url.replace('https:', 'http:'))
      if (o.send) conn.write(o.send(d.url))
      // A request (or handshake) on another connection, answered before the signal, so the daemon
      // has accepted this one and read what it sent. Over TLS the certificate is not trusted here,
      // so the fetch fails either way.
      const res = await fetch(`${d.url}/healthz`).catch(() => undefined)
      if (!o.tls) expect(res?.status).toBe(200)
      d.proc.kill('SIGTERM')
      await closed(conn)
      expect(await d.exited, d.log()).toBe(0)
      if (o.grace) expect(d.log()).toContain(GRACE_WARNING)
      else expect(d.log()).not.toContain(GRACE_WARNING)
    } finally {
      await d.stop()
    }
  })
}

describe('steme serve shutdown with idle connections', () => {
  it('closes a connection that sent nothing and one idle after a keep-alive request, and exits without the grace period', async () => {
    await inFreshStore(async (e) => {
      const d = await startDaemon(e, ['--timeout', '10'])
      try {
        // Opened first, so accepted before the request on the other is answered.
        const silent = await open(d.url)
        const idle = await open(d.url)
        idle.write(`GET /healthz HTTP/1.1\r\nHost: ${new URL(d.url).host}\r\nConnection: keep-alive\r\n\r\n`)
        let answer = ''
        await new Promise<void>((r) => idle.on('data', (b) => (answer += b) && answer.includes('{"status":"ok"}') && r()))
        expect(answer).toMatch(/^HTTP\/1\.1 200 /)
        expect(answer.toLowerCase(), answer).toContain('connection: keep-alive')
        // Neither socket ever closes on this side: only the daemon can end them.
        d.proc.kill('SIGTERM')
        await Promise.all([closed(silent), closed(idle)])
        expect(await d.exited, d.log()).toBe(0)
        expect(d.log()).not.toContain(GRACE_WARNING)
      } finally {
        await d.stop()
      }
    })
  }, 60_000)

  it('a request only partly sent is in flight: it is dropped only once --timeout runs out', () =>
    // Headers not ended: the request has begun and is not whole.
    shutdownWith({timeout: 5, send: (url) => `GET /healthz HTTP/1.1\r\nHost: ${new URL(url).host}\r\n`, grace: true}), 60_000)

  // Node's HTTP layer knows a TLS connection only once its handshake is done: before, neither its
  // idle sweep nor closeAllConnections reached one, and the daemon waited for it for ever.
  it('over TLS, a connection that never began its handshake is closed at once', () => shutdownWith({timeout: 10, tls: true, grace: false}), 60_000)

  it('over TLS, a handshake only begun is dropped once --timeout runs out', () =>
    // The first bytes of a TLS ClientHello record: a handshake that has begun and not ended.
    shutdownWith({timeout: 3, tls: true, send: () => Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), grace: true}), 60_000)
})
