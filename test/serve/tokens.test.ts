import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {UserError} from '../../src/core/errors.js'
import {roleAllows, TokenFile} from '../../src/serve/tokens.js'

const root = mkdtempSync(join(tmpdir(), 'steme-tok-'))
afterAll(() => rmSync(root, {recursive: true, force: true}))
const file = () => new TokenFile(join(mkdtempSync(join(root, 't-')), 'state', 'tokens.json'))

describe('TokenFile', () => {
  it('takes over a lock its holder left when it died, and waits for (then names) one a live process holds', () => {
    const f = file()
    f.create('read', 'first')
    // A process that has ended: its pid holds no lock any more.
    const dead = spawnSync(process.execPath, ['-e', '']).pid
    writeFileSync(`${f.path}.lock`, String(dead))
    expect(f.create('read', 'second').entry.name).toBe('second')
    expect(existsSync(`${f.path}.lock`)).toBe(false)
    // This process is alive: its lock is waited for, not broken.
    writeFileSync(`${f.path}.lock`, String(process.pid))
    try {
      expect(() => new TokenFile(f.path, 200).create('read', 'third')).toThrow(new RegExp(`is being changed by another process \\(pid ${process.pid}\\)`))
    } finally {
      rmSync(`${f.path}.lock`)
    }
    expect(f.list().map((t) => t.name)).toEqual(['first', 'second'])
  })

  it('stores only a hash, mode 0600, and checks the token back to its role', () => {
    const f = file()
    const {token, entry} = f.create('write', 'ci')
    expect(token).toMatch(/^stm_[0-9A-Za-z]{12}_[0-9A-Za-z]{43}$/)
    const text = readFileSync(f.path, 'utf8')
    expect(text).not.toContain(token.slice(17))
    expect(statSync(f.path).mode & 0o777).toBe(0o600)
    expect(f.check(token)).toEqual({tokenId: entry.id, name: 'ci', role: 'write'})
  })

  it('refuses malformed, unknown, forged and revoked tokens with a reason', () => {
    const f = file()
    const {token} = f.create('read', 'r')
    expect(f.check('nope')).toEqual({refused: expect.stringMatching(/malformed/)})
    expect(f.check(`stm_${'a'.repeat(12)}_${'b'.repeat(43)}`)).toEqual({refused: 'unknown token'})
    expect(f.check(token.slice(0, -1) + (token.endsWith('a') ? 'b' : 'a'))).toEqual({refused: 'unknown token'})
    f.revoke('r')
    expect(f.check(token)).toEqual({refused: expect.stringMatching(/revoked/)})
    expect(() => f.revoke('r')).toThrow(UserError)
  })

  it('refuses to revoke by a name several active tokens share, naming them; their ids revoke one each', () => {
    const f = file()
    const read = f.create('read', 'ci')
    const write = f.create('write', 'ci')
    expect(() => f.revoke('ci')).toThrow(`2 active tokens are named "ci": ${read.entry.id} (read), ${write.entry.id} (write)`)
    expect('role' in f.check(write.token)).toBe(true)
    expect(f.revoke(read.entry.id).map((t) => t.id)).toEqual([read.entry.id])
    // Now the name is one active token's again.
    expect(f.revoke('ci').map((t) => t.id)).toEqual([write.entry.id])
    expect(f.check(write.token)).toEqual({refused: expect.stringMatching(/revoked/)})
  })

  it('sees changes another process writes (revocation reaches a running daemon)', () => {
    const f = file()
    const {token} = f.create('admin')
    const other = new TokenFile(f.path)
    expect('role' in other.check(token)).toBe(true)
    f.revoke(f.list()[0].id)
    expect(other.check(token)).toEqual({refused: expect.stringMatching(/revoked/)})
  })

  it('a damaged file is a config error, not a crash', () => {
    const f = file()
    f.create('read')
    writeFileSync(f.path, '{not json')
    expect(() => f.check(`stm_${'a'.repeat(12)}_${'b'.repeat(43)}`)).toThrow(/not a valid token file/)
  })

  it('roles are ordered read < write < admin', () => {
    expect(roleAllows('admin', 'write')).toBe(true)
    expect(roleAllows('write', 'read')).toBe(true)
    expect(roleAllows('read', 'write')).toBe(false)
    expect(roleAllows('write', 'admin')).toBe(false)
  })
})
