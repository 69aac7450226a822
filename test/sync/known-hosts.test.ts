import {createHmac, randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {addHostKey, checkHostKey, keyFingerprint, keyType} from '../../src/sync/transports/known-hosts.js'

function blob(type: string, body: Buffer): Buffer {
  const t = Buffer.from(type)
  const len = Buffer.alloc(4)
  len.writeUInt32BE(t.length)
  return Buffer.concat([len, t, body])
}

const key = blob('ssh-ed25519', randomBytes(36))
const other = blob('ssh-ed25519', randomBytes(36))
const rsa = blob('ssh-rsa', randomBytes(100))
const root = mkdtempSync(join(tmpdir(), 'steme-kh-'))
afterAll(() => rmSync(root, {recursive: true, force: true}))
const file = (text: string) => {
  const f = join(mkdtempSync(join(root, 'kh-')), 'known_hosts')
  writeFileSync(f, text)
  return f
}
const hashed = (name: string) => {
  const salt = randomBytes(20)
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`
}

describe('known_hosts', () => {
  it('knows plain, [host]:port, wildcard and hashed entries', () => {
    expect(checkHostKey(file(`example.org ssh-ed25519 ${key.toString('base64')}\n`), 'example.org', 22, key)).toEqual({status: 'known'})
    expect(checkHostKey(file(`[127.0.0.1]:2222 ssh-ed25519 ${key.toString('base64')}\n`), '127.0.0.1', 2222, key)).toEqual({status: 'known'})
    expect(checkHostKey(file(`[127.0.0.1]:2222 ssh-ed25519 ${key.toString('base64')}\n`), '127.0.0.1', 22, key)).toEqual({status: 'unknown'})
    expect(checkHostKey(file(`*.example.org,!bad.example.org ssh-ed25519 ${key.toString('base64')}\n`), 'a.example.org', 22, key)).toEqual({status: 'known'})
    expect(checkHostKey(file(`*.example.org,!bad.example.org ssh-ed25519 ${key.toString('base64')}\n`), 'bad.example.org', 22, key)).toEqual({status: 'unknown'})
    expect(checkHostKey(file(`# c\n\n${hashed('[h]:2200')} ssh-ed25519 ${key.toString('base64')}\n`), 'h', 2200, key)).toEqual({status: 'known'})
  })

  it('a line with a marker other than @revoked is no host key, as ssh skips it', () => {
    const b64 = key.toString('base64')
    expect(checkHostKey(file(`@REVOKED example.org ssh-ed25519 ${b64}\n`), 'example.org', 22, key)).toEqual({status: 'unknown'})
    expect(checkHostKey(file(`@revoke example.org ssh-ed25519 ${b64}\n`), 'example.org', 22, key)).toEqual({status: 'unknown'})
    expect(checkHostKey(file(`@cert-authority example.org ssh-ed25519 ${b64}\n`), 'example.org', 22, key)).toEqual({status: 'unknown'})
    expect(checkHostKey(file(`@revoked example.org ssh-ed25519 ${b64}\n`), 'example.org', 22, key)).toEqual({status: 'revoked', line: 1})
  })

  it('tells changed keys, other key types and revoked keys apart', () => {
    const f = file(`h ssh-rsa ${rsa.toString('base64')}\nh ssh-ed25519 ${other.toString('base64')}\n`)
    expect(checkHostKey(f, 'h', 22, key)).toEqual({status: 'changed', line: 2})
    expect(checkHostKey(file(`h ssh-rsa ${rsa.toString('base64')}\n`), 'h', 22, key)).toEqual({status: 'unknown'})
    expect(checkHostKey(file(`@revoked h ssh-ed25519 ${key.toString('base64')}\nh ssh-ed25519 ${key.toString('base64')}\n`), 'h', 22, key)).toEqual({status: 'revoked', line: 1})
    expect(checkHostKey('/nonexistent/known_hosts', 'h', 22, key)).toEqual({status: 'unknown'})
  })

  it('records an accepted key as ssh would', () => {
    const f = file('')
    addHostKey(f, '127.0.0.1', 2222, key)
    expect(readFileSync(f, 'utf8')).toBe(`[127.0.0.1]:2222 ssh-ed25519 ${key.toString('base64')}\n`)
    expect(checkHostKey(f, '127.0.0.1', 2222, key)).toEqual({status: 'known'})
    expect(keyType(key)).toBe('ssh-ed25519')
    expect(keyFingerprint(key)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/)
  })
})
