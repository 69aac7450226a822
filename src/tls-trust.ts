/** A TLS handshake that failed because this machine does not trust the server's certificate, and what to do about it. */

/** Node's codes for a certificate not trusted here (self-signed, unknown CA, expired, or not naming the host). */
const UNTRUSTED = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID)$/

export const isUntrustedCert = (code: string | undefined): boolean => code !== undefined && UNTRUSTED.test(code)

export const UNTRUSTED_CERT_HINT = "its TLS certificate is not trusted here: point NODE_EXTRA_CA_CERTS at the server's certificate (or its CA's) in PEM, and check the URL's host is one the certificate names"

/**
 * A TLS handshake that failed because the server answered in plain text: OpenSSL reads the
 * first bytes of an HTTP answer ("HTTP/1.1 400") as a TLS record of an unknown version.
 */
export const isPlainAnswer = (e: unknown): boolean => {
  const err = e as NodeJS.ErrnoException
  return err?.code === 'EPROTO' && /wrong version number|packet length too long|http request/i.test(err.message ?? '')
}

/**
 * Whether a TLS handshake with host:port completes (the certificate unchecked): for a plain
 * http:// URL whose server reset the connection, it tells a server that speaks only TLS from a
 * network that failed. Never throws; false after `timeoutMs`.
 */
export async function speaksTls(host: string, port: number, timeoutMs = 3000): Promise<boolean> {
  const [{connect}, {isIP}] = await Promise.all([import('node:tls'), import('node:net')])
  return new Promise((resolve) => {
    const socket = connect({host, port, rejectUnauthorized: false, ...(isIP(host) ? {} : {servername: host})})
    const done = (ok: boolean) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(ok)
    }
    const timer = setTimeout(() => done(false), timeoutMs)
    socket.once('secureConnect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/**
 * What is wrong when the first request to `target` failed because its server speaks the other
 * scheme: an https:// URL answered in plain HTTP, or an http:// URL whose connection was reset by
 * a server that completes a TLS handshake. Undefined for any other failure. `baseUrl` is the URL
 * as the user gave it, which the hint gives back with the other scheme. Shared by sync over HTTP
 * and the client of `steme serve`, which meet the same mistakes.
 */
export async function wrongScheme(target: URL, baseUrl: string, e: unknown): Promise<{message: string; hint: string} | undefined> {
  const code = (e as NodeJS.ErrnoException | undefined)?.code
  if (target.protocol === 'https:' && isPlainAnswer(e)) {
    return {
      message: `${target.host} does not speak TLS: it answered the https:// request in plain HTTP`,
      hint: `use ${baseUrl.replace(/^https:/i, 'http:')} (a token then crosses the network in clear: for another machine, run \`steme serve\` with --tls-cert and --tls-key)`,
    }
  }
  const host = target.hostname.replace(/^\[|\]$/g, '')
  if (target.protocol === 'http:' && (code === 'ECONNRESET' || code === 'EPIPE') && (await speaksTls(host, Number(target.port || 80)))) {
    return {message: `${target.host} speaks TLS: it closed the plain http:// connection`, hint: `use ${baseUrl.replace(/^http:/i, 'https:')}`}
  }
  return undefined
}
