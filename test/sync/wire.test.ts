import {describe, expect, it} from 'vitest'
import {MessageReader, PREAMBLE, frameMessage} from '../../src/sync/framing.js'
import {backoff} from '../../src/sync/retry.js'
import {parseRemote} from '../../src/sync/remote.js'
import {redactUrls} from '../../src/core/redact.js'
import {IdList} from '../../src/sync/ids.js'
import {MAX_MESSAGE, T, decode, encode, encodedSize, type Frame} from '../../src/sync/wire.js'

const id = (c: string) => c.repeat(64)

describe('wire format', () => {
  it('round-trips every frame type, ranges relative to the previous one', () => {
    const frames: Frame[] = [
      {t: T.Hello, hello: {proto: 'steme-sync', v: 1, caps: ['ids'], mode: 'pull', top: 1_712_000}},
      {t: T.Fp, range: {a: 1_700_000, b: 1_700_010, bits: 0, prefix: 0}, count: 42, hash: new Uint8Array(16).fill(7)},
      {t: T.Fp, range: {a: 1_700_005, b: 1_700_005, bits: 8, prefix: 0xab}, count: 0, hash: new Uint8Array(0)},
      {t: T.Ids, range: {a: 1_700_011, b: 1_700_011, bits: 0, prefix: 0}, ids: IdList.fromHex([id('a'), id('b')])},
      {t: T.Need, ids: [id('c')]},
      {t: T.NeedIn, a: 1_700_000, b: 1_700_300, ids: [id('c'), id('9')]},
      {t: T.Offer, ids: [id('d'), id('e')]},
      {t: T.Record, line: '{"v":1,"x":"é"}'},
      {t: T.Ack, added: 1, present: 2, rejected: 3, errors: [{id: id('f'), reason: 'sig: bad'}]},
      {t: T.Error, code: 'version', message: 'nope'},
    ]
    const back = decode(encode(frames))
    expect(back.map((f) => ('hash' in f ? {...f, hash: [...f.hash]} : f))).toEqual(frames.map((f) => ('hash' in f ? {...f, hash: [...f.hash]} : f)))
  })

  it('sends a record line given as bytes exactly as the same line given as text', () => {
    const text = '{"v":1,"subject":"drug:é✓𝄞"}'
    expect(Buffer.from(encode([{t: T.Record, line: Buffer.from(text)}]))).toEqual(Buffer.from(encode([{t: T.Record, line: text}])))
    expect(decode(encode([{t: T.Record, line: Buffer.from(text)}]))).toEqual([{t: T.Record, line: text}])
  })

  it('knows the encoded length of a message without encoding it (budgets rely on it)', () => {
    const frames: Frame[] = [
      {t: T.Hello, hello: {proto: 'steme-sync', v: 1, caps: ['ids'], mode: 'pull', top: 1_712_000, root: 'ab'.repeat(16)}},
      {t: T.Fp, range: {a: 1_700_000, b: 1_700_200, bits: 0, prefix: 0}, count: 300, hash: new Uint8Array(16).fill(7)},
      // Back before the previous end: a negative, zigzagged delta.
      {t: T.Fp, range: {a: 5, b: 5, bits: 44, prefix: 2 ** 43 + 9}, count: 0, hash: new Uint8Array(0)},
      {t: T.Ids, range: {a: 2 ** 40, b: 2 ** 40 + 3, bits: 0, prefix: 0}, ids: IdList.fromHex(Array.from({length: 200}, (_, i) => (i % 16).toString(16).repeat(64)))},
      {t: T.Ids, range: {a: 0, b: 0, bits: 4, prefix: 3}, ids: IdList.empty},
      {t: T.Need, ids: Array.from({length: 5}, () => id('c'))},
      {t: T.NeedIn, a: 2 ** 43, b: 2 ** 44 - 1, ids: Array.from({length: 3}, () => id('d'))},
      {t: T.NeedIn, a: 0, b: 0, ids: []},
      {t: T.Offer, ids: []},
      {t: T.Record, line: '{"v":1,"x":"é✓𝄞"}'},
      {t: T.Record, line: 'x'.repeat(300)},
      {t: T.Record, line: Buffer.from('{"v":1,"x":"bytes é"}')},
      {t: T.Ack, added: 1, present: 2, rejected: 3, errors: [{id: id('f'), reason: 'sig: bad ü'}]},
      {t: T.Error, code: 'version', message: 'nope'},
    ]
    for (let k = 0; k <= frames.length; k++) expect(encodedSize(frames.slice(0, k))).toBe(encode(frames.slice(0, k)).length)
  })

  it('refuses to encode an id that is not 64 hex digits (the frame length is written first)', () => {
    expect(() => encode([{t: T.Need, ids: ['ab'.repeat(31)]}])).toThrow(/not a hex id/)
    expect(() => IdList.fromHex(['zz'.repeat(32)])).toThrow(/not a hex id/)
    expect(() => IdList.fromHex(['ab'.repeat(31)])).toThrow(/not a hex id/)
    expect(() => new IdList(new Uint8Array(33))).toThrow(/not a whole number of ids/)
  })

  it('refuses malformed input with a clear error', () => {
    const bad = [
      new Uint8Array([0x10, 0x05, 1, 2]),
      new Uint8Array([0x7f, 0x00]),
      new Uint8Array([0x20, 0x03, 1, 2, 3]),
      new Uint8Array([0x10, 0x04, 0, 0, 3, 0]),
      new Uint8Array([0x01, 0x02, 0x7b, 0x7b]),
      // NEED_IN: a span past the last bucket; ids not a multiple of 32 bytes.
      new Uint8Array([0x22, 0x09, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
      new Uint8Array([0x22, 0x04, 0x01, 0x01, 0xaa, 0xbb]),
    ]
    for (const b of bad) expect(() => decode(b)).toThrow(/malformed sync message/)
  })

  it('frames messages on a byte stream, refusing garbage and oversized lengths', () => {
    const r = new MessageReader(true)
    const msg = frameMessage(new Uint8Array([1, 2, 3]))
    const all = Buffer.concat([Buffer.from(PREAMBLE), msg, msg])
    expect(r.push(all.subarray(0, 5))).toEqual([])
    expect(r.push(all.subarray(5, 20))).toHaveLength(1)
    expect(r.push(all.subarray(20))).toHaveLength(1)
    expect(() => new MessageReader(true).push(Buffer.from('bash: steme: command not found\n'))).toThrow(/unexpected output/)
    const huge = Buffer.alloc(4)
    huge.writeUInt32BE(MAX_MESSAGE + 1)
    expect(() => new MessageReader(false).push(huge)).toThrow(/exceeds the bound/)
  })
})

describe('retries and remotes', () => {
  it('backs off exponentially with full jitter, capped', () => {
    const p = {baseMs: 200, maxMs: 10_000, random: () => 1}
    expect([0, 1, 2, 3, 10].map((a) => backoff(a, p))).toEqual([200, 400, 800, 1600, 10_000])
    expect(backoff(3, {...p, random: () => 0.5})).toBe(800)
  })

  it('parses ssh, http and path remotes', () => {
    expect(parseRemote('ssh://me@host:2222/srv/store')).toEqual({kind: 'ssh', user: 'me', host: 'host', port: 2222, path: '/srv/store'})
    // No port or user in the URL: left to the SSH config (else 22 and the local user) when connecting.
    expect(parseRemote('ssh://me@host/~/team')).toEqual({kind: 'ssh', user: 'me', host: 'host', port: undefined, path: 'team'})
    expect(parseRemote('ssh://myserver/srv/store')).toEqual({kind: 'ssh', user: undefined, host: 'myserver', port: undefined, path: '/srv/store'})
    expect(parseRemote('https://steme.example:7070/')).toEqual({kind: 'http', url: 'https://steme.example:7070'})
    expect(parseRemote('../b', '/x/y')).toEqual({kind: 'path', path: '/x/b'})
    expect(() => parseRemote('ssh://host')).toThrow(/names no store path/)
    expect(() => parseRemote('ftp://host/x')).toThrow(/unsupported remote/)
    // A PostgreSQL URL names a store, not a remote: said so, with migrate and --store to use instead, and no part of a password.
    expect(() => parseRemote('postgres://team:hunter2@db/steme')).toThrow(/^the PostgreSQL store postgres:\/\/team@db\/steme is no sync remote/)
    expect(() => parseRemote('postgresql://team:hun/ter2@db/steme')).toThrow(/^postgresql:\/\/team:\*\*\*@db\/steme is not a usable PostgreSQL URL/)
  })

  it('refuses scp-style addresses, schemes missing "://" and an empty remote as paths, naming the URL meant', () => {
    const hint = (spec: string) => {
      try {
        parseRemote(spec, '/nonexistent-dir')
      } catch (e) {
        return (e as {hint?: string}).hint
      }
      return undefined
    }
    expect(hint('me@127.0.0.1:/srv/x')).toMatch(/^write it as ssh:\/\/me@127\.0\.0\.1\/srv\/x /)
    expect(hint('me@host:team')).toMatch(/^write it as ssh:\/\/me@host\/~\/team /)
    expect(hint('host.example:/srv/x')).toMatch(/^write it as ssh:\/\/host\.example\/srv\/x /)
    expect(hint('ssh//me@host/srv')).toMatch(/^write it as ssh:\/\/me@host\/srv /)
    expect(hint('ssh:/me@host/srv')).toMatch(/^write it as ssh:\/\/me@host\/srv /)
    expect(hint('https//h:8080')).toMatch(/^write it as https:\/\/h:8080 /)
    expect(() => parseRemote('', '/x')).toThrow(/the remote is empty/)
    // What was a path stays one: with ./ in front, or without user@ or a path after the colon.
    expect(parseRemote('./me@host:dir', '/x')).toEqual({kind: 'path', path: '/x/me@host:dir'})
    expect(parseRemote('notes:v2', '/x')).toEqual({kind: 'path', path: '/x/notes:v2'})
    expect(parseRemote('ssh/b', '/x')).toEqual({kind: 'path', path: '/x/ssh/b'})
  })

  it('refuses credentials in an http(s) URL, without echoing them', () => {
    for (const spec of ['http://user:stm_SECRET@127.0.0.1:7070', 'https://stm_SECRET@host']) {
      let err: (Error & {exit?: number; hint?: string}) | undefined
      try {
        parseRemote(spec)
      } catch (e) {
        err = e as Error & {exit?: number; hint?: string}
      }
      expect(err?.message).toMatch(/carries credentials/)
      expect(err?.message).not.toMatch(/SECRET/)
      expect(err?.hint).toMatch(/STEME_TOKEN/)
      expect(err?.exit).toBe(2)
    }
  })

  it('never prints any part of a password that holds @ / ? or #, in an ssh:// or http(s):// remote', () => {
    const specs = ['ssh://me:pa@SECRET@host/srv/x', 'ssh://me:pa/SECRET@host/srv/x', 'ssh://me:pa#SECRET@host/srv/x', 'ssh://me:pa?SECRET@host/srv/x', 'http://u:to@SECRET@host:7411', 'https://u:to/SECRET@host:7411']
    for (const spec of specs) {
      let err: (Error & {exit?: number; hint?: string}) | undefined
      try {
        parseRemote(spec)
      } catch (e) {
        err = e as Error & {exit?: number; hint?: string}
      }
      expect(err, spec).toBeDefined()
      expect(`${err?.message} ${err?.hint}`, spec).not.toMatch(/SECRET/)
      expect(err?.exit, spec).toBe(2)
    }
    // As the message renderer hides them in any text.
    expect(redactUrls('"ssh://me:p@SECRET@host/x" is not valid')).toBe('"ssh://me:***@host/x" is not valid')
    expect(redactUrls('remote http://u:p/SECRET@host:1 failed')).toBe('remote http://***@host:1 failed')
    // A user name alone, and an @ in a path, stay.
    expect(redactUrls('ssh://me@host/srv/a@b and ssh://host/x')).toBe('ssh://me@host/srv/a@b and ssh://host/x')
  })

  it('hides userinfo in text: all of it for http(s), the password for others', () => {
    expect(redactUrls('request to http://u:stm_X@h:1/v1/sync failed, see https://tok@h2')).toBe('request to http://***@h:1/v1/sync failed, see https://***@h2')
    expect(redactUrls('ssh://me@host/srv and ssh://me:pw@host/srv')).toBe('ssh://me@host/srv and ssh://me:***@host/srv')
    expect(redactUrls('http://host:7070 and ../b')).toBe('http://host:7070 and ../b')
    // A password holding @ (the PostgreSQL driver reads user info up to the last @): none of it shown.
    expect(redactUrls('store postgres://u:p@ss@h/d failed')).toBe('store postgres://u:***@h/d failed')
    expect(redactUrls('see https://t@k@h2/x@y')).toBe('see https://***@h2/x@y')
  })
})
