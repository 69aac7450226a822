/** replaceFileSync: the small files steme rewrites (claims, baselines, remotes, hooks, tokens) are replaced whole or not at all. */
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {replaceFileSync} from '../../src/output-file.js'

describe('replaceFileSync', () => {
  let dir: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'steme-replace-'))
  })
  afterEach(() => rmSync(dir, {recursive: true, force: true}))

  const mode = (p: string) => statSync(p).mode & 0o777

  it('writes a new file with the default mode and leaves no temporary file', () => {
    const p = join(dir, 'claims.toml')
    replaceFileSync(p, 'a = 1\n')
    expect(readFileSync(p, 'utf8')).toBe('a = 1\n')
    const umask = process.umask()
    expect(mode(p)).toBe(0o666 & ~umask)
    expect(readdirSync(dir)).toEqual(['claims.toml'])
  })

  it('replaces an existing file keeping its mode, or setting the one asked for exactly', () => {
    const p = join(dir, 'baseline.json')
    writeFileSync(p, 'old, and longer than the new text\n')
    chmodSync(p, 0o640)
    replaceFileSync(p, 'new\n')
    expect(readFileSync(p, 'utf8')).toBe('new\n')
    expect(mode(p)).toBe(0o640)
    replaceFileSync(p, 'hook\n', 0o755)
    expect(mode(p)).toBe(0o755)
    replaceFileSync(join(dir, 'tokens.json'), '{}\n', 0o600)
    expect(mode(join(dir, 'tokens.json'))).toBe(0o600)
    expect(readdirSync(dir).sort()).toEqual(['baseline.json', 'tokens.json'])
  })

  it('through a symlink, replaces the file it points at and keeps the link', () => {
    mkdirSync(join(dir, 'real'))
    const target = join(dir, 'real', 'config.toml')
    writeFileSync(target, 'old\n')
    const link = join(dir, 'config.toml')
    symlinkSync(target, link)
    replaceFileSync(link, 'new\n')
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(readlinkSync(link)).toBe(target)
    expect(readFileSync(target, 'utf8')).toBe('new\n')
    expect(readdirSync(join(dir, 'real'))).toEqual(['config.toml'])
  })

  it('a directory in the way is refused up front, naming the path, and left as it was', () => {
    const p = join(dir, 'taken')
    mkdirSync(p)
    writeFileSync(join(p, 'inside'), 'kept\n')
    expect(() => replaceFileSync(p, 'text\n')).toThrow(`EISDIR: illegal operation on a directory, open '${p}'`)
    expect(readdirSync(dir)).toEqual(['taken'])
    expect(readFileSync(join(p, 'inside'), 'utf8')).toBe('kept\n')
  })

  it('a system error names the file asked for, not the temporary one, and nothing is made', () => {
    const p = join(dir, 'no', 'such', 'file')
    let err: NodeJS.ErrnoException | undefined
    try {
      replaceFileSync(p, 'x')
    } catch (e) {
      err = e as NodeJS.ErrnoException
    }
    expect(err?.code).toBe('ENOENT')
    expect(err?.path).toBe(p)
    expect(err?.message).toBe(`ENOENT: no such file or directory, open '${p}'`)
    expect(readdirSync(dir)).toEqual([])
  })
})
