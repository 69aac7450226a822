/** A careless or hostile client over real HTTP: every refusal is a JSON 4xx naming the input and what to do, and nothing is stored. */
import {connect} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {NAMING_HEADER} from '../../src/serve/client.js'
import {assertion} from '../helpers/records.js'
import {ndjson, startHarness, type Harness} from './harness.js'

/** Send raw bytes and read until the daemon closes the connection (every request here asks it to). */
function raw(url: string, request: string | Buffer): Promise<{status: number; headers: string; body: any; text: string}> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname, () => sock.write(request))
    const chunks: Buffer[] = []
    sock.on('data', (d) => chunks.push(d))
    sock.on('error', reject)
    sock.on('close', () => {
      const all = Buffer.concat(chunks).toString('utf8')
      const cut = all.indexOf('\r\n\r\n')
      const head = all.slice(0, cut)
      let text = all.slice(cut + 4)
      // A chunked body (Node's own answers): join its chunks.
      if (/transfer-encoding: chunked/i.test(head)) {
        let out = ''
        for (let rest = text; ; ) {
          const nl = rest.indexOf('\r\n')
          const size = parseInt(rest.slice(0, nl), 16)
          if (!size) break
          out += rest.slice(nl + 2, nl + 2 + size)
          rest = rest.slice(nl + 4 + size)
        }
        text = out
      }
      let body: unknown
      try {
        body = JSON.parse(text)
      } catch {
        body = undefined
      }
      resolve({status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), headers: head, body, text})
    })
  })
}

/** A refusal as clients should get it: JSON with a stable code and a message, no stack trace, no token text. */
function expectRefusal(r: {status: number; body: any; text: string}, status: number, code: string) {
  expect(r.status, r.text).toBe(status)
  expect(r.body?.error?.code, r.text).toBe(code)
  expect(typeof r.body.error.message).toBe('string')
  expect(r.text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|\.js:\d+|stm_/)
}

describe('schema refusals name the input as the rest of the API does, and say what it takes', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => {
    await h.stop()
  })

  it('out of range, not a boolean, not among the choices, empty or too long: the parameter, what it got and what it takes', async () => {
    const cases: Array<[string, RegExp]> = [
      ['/v1/log?limit=0', /^query parameter limit: 0 is below the least value of 1$/],
      ['/v1/log?limit=100001', /^query parameter limit: 100001 is above the greatest value of 100000$/],
      ['/v1/log?limit=1.5', /^query parameter limit: "1.5" is not a whole number$/],
      ['/v1/conflicts?min-score=2', /^query parameter min-score: 2 is above the greatest value of 1$/],
      ['/v1/query?subject=s&include-retracted=yes', /^query parameter include-retracted: "yes" is not true or false$/],
      ['/v1/query?subject=s&predicate=', /^query parameter predicate is empty$/],
      [`/v1/query?subject=${'x'.repeat(513)}`, /^query parameter subject is longer than 512 characters$/],
      ['/v1/query', /^query parameter subject is required$/],
    ]
    for (const [path, message] of cases) {
      const r = await h.req(path, {token: h.read})
      expectRefusal(r, 400, 'bad_request')
      expect(r.body.error.message, path).toMatch(message)
      expect(r.body.error.hint, path).toMatch(/GET \/v1\/openapi\.yaml/)
    }
    const detail = await h.req('/v1/records?detail=all', {method: 'POST', headers: {'content-type': 'application/json'}, body: '[]', token: h.write})
    expectRefusal(detail, 400, 'bad_request')
    expect(detail.body.error.message).toBe('query parameter detail: "all" is not one of ids, counts')
    // The steme CLI asks for its flags' names: the same refusal names --limit.
    const cli = await h.req('/v1/log?limit=0', {token: h.read, headers: {[NAMING_HEADER]: 'flags'}})
    expect(cli.body.error.message).toBe('--limit: 0 is below the least value of 1')
  })

  it('a parameter given twice is said to be given twice, not to be of the wrong type', async () => {
    for (const path of ['/v1/log?limit=1&limit=2', '/v1/query?subject=a&subject=b', '/v1/events?subject=a&subject=b', '/v1/log?after=a&after=b&after=c']) {
      const r = await h.req(path, {token: h.read})
      expectRefusal(r, 400, 'bad_request')
      const name = /\?([a-z-]+)=/.exec(path)![1]
      expect(r.body.error.message, path).toMatch(new RegExp(`^query parameter ${name} is given [23] times; give it once$`))
    }
  })

  it('an empty record id in the path is named as the record id', async () => {
    const r = await h.req('/v1/records/', {token: h.read})
    expectRefusal(r, 400, 'bad_request')
    expect(r.body.error.message).toBe('the record id in the path is empty')
    expect(r.body.error.hint).toMatch(/GET \/v1\/records\/<id>/)
  })
})

describe('query strings that are not valid percent-encoding are refused, not read as their raw text', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => {
    await h.stop()
  })

  it('a value or a name with a stray % or percent-encoded bytes that are not UTF-8: 400 naming the parameter', async () => {
    const a = assertion({subject: 'drug:%FF', predicate: 'p', value: 1})
    expect((await h.req('/v1/records', {method: 'POST', headers: {'content-type': 'application/x-ndjson'}, body: ndjson([a]), token: h.write})).status).toBe(200)
    // Sent properly, a subject holding a percent sign is found.
    const ok = await h.req(`/v1/query?subject=${encodeURIComponent('drug:%FF')}`, {token: h.read})
    expect(ok.status).toBe(200)
    expect(ok.body.resolutions).toHaveLength(1)
    for (const [path, name] of [
      ['/v1/query?subject=drug:%FF', 'subject'],
      ['/v1/query?subject=drug:%E0%A4', 'subject'],
      ['/v1/query?subject=%', 'subject'],
      ['/v1/query?subject=a%zz', 'subject'],
      ['/v1/log?subject=%FF', 'subject'],
      ['/v1/query?subject=a&lens=%ZZ', 'lens'],
    ]) {
      const r = await h.req(path, {token: h.read})
      expectRefusal(r, 400, 'bad_request')
      expect(r.body.error.message, path).toBe(`query parameter ${name} is not valid percent-encoding (a % must be followed by two hex digits, and the bytes must form UTF-8)`)
      expect(r.body.error.hint, path).toMatch(/encodeURIComponent/)
    }
    // A token sent by mistake in a malformed parameter is not echoed.
    const secret = await h.req(`/v1/log?subject=${h.read}%`, {token: h.read})
    expectRefusal(secret, 400, 'bad_request')
  })
})

describe('HTTP the daemon cannot read: a JSON answer that says what is wrong, and the daemon serves on', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => {
    await h.stop()
  })

  it('an HTTP/1.1 request without Host: 400 JSON naming the header', async () => {
    const r = await raw(h.url, `GET /v1/stats HTTP/1.1\r\nAuthorization: Bearer ${h.read}\r\nConnection: close\r\n\r\n`)
    expectRefusal(r, 400, 'bad_request')
    expect(r.body.error.message).toMatch(/Host header/)
    // HTTP/1.0 needs none.
    const old = await raw(h.url, `GET /v1/stats HTTP/1.0\r\nAuthorization: Bearer ${h.read}\r\n\r\n`)
    expect(old.status).toBe(200)
  })

  it('bytes the parser refuses: the message says which part, the hint what to do', async () => {
    const cases: Array<[Buffer, RegExp, RegExp]> = [
      [Buffer.from('GET /v1/query?subject=caf\xe9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 'latin1'), /url/i, /percent-encode/],
      [Buffer.from('GET /v1/stats HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\x00b\r\nConnection: close\r\n\r\n', 'latin1'), /header/i, /control characters/],
      [Buffer.from('POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n[]', 'latin1'), /content-length/i, /one Content-Length/],
    ]
    for (const [request, message, hint] of cases) {
      const r = await raw(h.url, request)
      expectRefusal(r, 400, 'bad_request')
      expect(r.body.error.message).toMatch(/^malformed HTTP request: /)
      expect(r.body.error.message).toMatch(message)
      expect(r.body.error.hint).toMatch(hint)
    }
    expect((await h.req('/v1/stats', {token: h.read})).status).toBe(200)
  })
})

describe('two Authorization headers', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => {
    await h.stop()
  })

  it('are refused whichever comes first, naming the header and not the tokens; nothing is stored', async () => {
    const a = assertion({subject: 'twice:1', predicate: 'p', value: 1})
    const body = ndjson([a])
    for (const [first, second] of [
      [h.write, h.revoked],
      [h.revoked, h.write],
      [h.write, h.write],
    ]) {
      const r = await raw(
        h.url,
        `POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${first}\r\nAuthorization: Bearer ${second}\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
      expectRefusal(r, 401, 'unauthorized')
      expect(r.body.error.message).toBe('the request carries 2 Authorization headers; send one')
    }
    expect((await h.req('/v1/stats', {token: h.read})).body.records).toBe(0)
  })
})

describe('Expect and CONNECT', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => {
    await h.stop()
  })

  it('Expect: 100-continue is answered with 100 only once the token lets the body in', async () => {
    const head = (token: string) => `POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n`
    // Refused: the answer comes at once, with no 100 telling the client to upload.
    const refused = await raw(h.url, head(h.read))
    expectRefusal(refused, 403, 'forbidden')
    expect(refused.headers).not.toMatch(/100 Continue/)
    const u = new URL(h.url)
    const answer = await new Promise<string>((resolve, reject) => {
      let text = ''
      const sock = connect(Number(u.port), u.hostname, () => sock.write(head(h.write)))
      // The body goes only after the 100, as a client waiting for it sends it.
      sock.on('data', (d) => {
        if (!text && /^HTTP\/1\.1 100 Continue\r\n\r\n/.test(String(d))) sock.write('[]')
        text += d
      })
      sock.on('error', reject)
      sock.on('close', () => resolve(text))
    })
    expect(answer).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK/)
  })

  it('an HTTP/1.0 request gets no 100 Continue, Expect or not: HTTP/1.0 has no interim answers', async () => {
    // Such a client sends its body with its headers, and would take a 100 for the answer.
    const r = await raw(h.url, `POST /v1/records HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer ${h.write}\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]`)
    expect(r.headers).toMatch(/^HTTP\/1\.1 200 OK\r\n/)
    expect(r.headers).not.toMatch(/100 Continue/)
    expect(r.body).toMatchObject({added: 0, rejected: 0})
  })

  it('an Expect the daemon does not know: 417 in the error shape', async () => {
    const r = await raw(h.url, `POST /v1/records HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${h.write}\r\nExpect: 200-ok\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]`)
    expectRefusal(r, 417, 'bad_request')
    expect(r.body.error.message).toBe('Expect: 200-ok is not supported')
    expect(r.body.error.hint).toMatch(/100-continue/)
  })

  it('CONNECT: 405 in the error shape, not a dropped connection', async () => {
    const r = await raw(h.url, `CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n`)
    expectRefusal(r, 405, 'method_not_allowed')
    expect(r.body.error.message).toMatch(/not a proxy/)
    expect((await h.req('/v1/stats', {token: h.read})).status).toBe(200)
  })
})

describe('POST /v1/sync over its message bound', () => {
  let h: Harness
  beforeAll(async () => {
    // A body limit above the sync bound: the sync route's own bound is what refuses.
    h = await startHarness({bodyLimit: 64 * 1024 * 1024})
  })
  afterAll(async () => {
    await h.stop()
  })

  it('413 names the sync bound, which --body-limit does not change', async () => {
    const r = await h.req('/v1/sync', {method: 'POST', headers: {'content-type': 'application/x-steme-sync'}, body: new Uint8Array(17 * 1024 * 1024), token: h.read})
    expectRefusal(r, 413, 'too_large')
    expect(r.body.error.message).toBe("a sync message is larger than the protocol's bound of 16 MiB")
    expect(r.body.error.hint).not.toMatch(/--body-limit/)
    expect(r.body.error.hint).toMatch(/steme pull\|push\|sync/)
  })
})

describe('a token put where a token does not go', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(async () => {
    await h.stop()
  })

  it('is not echoed in the refusal, whether the path or a parameter holds it', async () => {
    for (const [path, status] of [
      [`/v1/${h.read}`, 404],
      [`/v1/stats/${h.read}`, 404],
      [`/v1/records/${h.read}`, 400],
      [`/v1/query?subject=s&as-of=${h.read}`, 400],
      [`/v1/log?after=${h.read}`, 400],
    ] as const) {
      const r = await h.req(path, {token: h.read})
      expect(r.status, path).toBe(status)
      expect(r.text, path).not.toContain(h.read.slice(17))
      expect(r.text, path).not.toContain(h.read.slice(0, 17))
      expect(r.body.error.message, path).toContain('[redacted]')
    }
  })

  it('nor any part of its secret, when a message cuts the token short or the hint quotes it', async () => {
    const secret = h.read.slice(17)
    for (const path of [
      // The page position is quoted up to 100 characters: the token is cut inside its secret.
      `/v1/log?after=${'q'.repeat(60)}${h.read}`,
      `/v1/log?after=${'q'.repeat(80)}${h.read.slice(0, 40)}`,
      // The lens error's hint shows the expression finished with a lens.
      `/v1/conflicts?lens=agent:${h.read}`,
    ]) {
      const r = await h.req(path, {token: h.read})
      expect(r.status, path).toBe(400)
      expect(r.text, path).not.toContain(secret.slice(0, 8))
      expect(r.text, path).toContain('[redacted]')
    }
  })
})
