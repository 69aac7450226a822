import {afterAll, afterEach, beforeAll, describe, expect, it, vi} from 'vitest'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {BugError, UserError} from '../../src/core/errors.js'
import {fileSystemError, INTERNAL_HINT, renderError, storeCloseError} from '../../src/core/render-error.js'

/** The error Node throws for this file-system call. */
function thrown(f: () => unknown): NodeJS.ErrnoException {
  try {
    f()
  } catch (e) {
    return e as NodeJS.ErrnoException
  }
  throw new Error('expected a throw')
}

const dir = mkdtempSync(join(tmpdir(), 'steme-render-error-'))
beforeAll(() => {
  mkdirSync(join(dir, 'sub'))
  writeFileSync(join(dir, 'file'), '')
})
afterEach(() => vi.restoreAllMocks())
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('a system error on a path is rendered as the user\'s error, not as a bug', () => {
  // The --json code too: a missing path is not_found, a wrong kind of path a usage error.
  const cases: Array<[string, () => unknown, 1 | 2, string, string]> = [
    ['ENOENT', () => readFileSync(join(dir, 'missing')), 2, `cannot open ${join(dir, 'missing')}: no such file or directory`, 'not_found'],
    ['EISDIR', () => writeFileSync(join(dir, 'sub'), 'x'), 2, `cannot open ${join(dir, 'sub')}: illegal operation on a directory`, 'usage'],
    ['ENOTDIR', () => mkdirSync(join(dir, 'file', 'x')), 2, `cannot mkdir ${join(dir, 'file', 'x')}: not a directory`, 'usage'],
    ['EEXIST', () => mkdirSync(join(dir, 'file')), 2, `cannot mkdir ${join(dir, 'file')}: file already exists`, 'usage'],
    ['ENAMETOOLONG', () => readFileSync(join(dir, 'n'.repeat(300))), 2, 'name too long', 'usage'],
  ]
  for (const [code, make, exit, message, errorCode] of cases) {
    it(`${code}: the path and the system's reason, exit ${exit}`, () => {
      const e = thrown(make)
      expect(e.code).toBe(code)
      const u = fileSystemError(e)
      expect(u).toBeInstanceOf(UserError)
      expect(u!.message).toContain(message)
      expect(u!.exit).toBe(exit)
      expect(u!.code).toBe(errorCode)
      expect(u!.hint).toBeTruthy()
    })
  }

  it('a read without a path still says what failed; ENOSPC, EACCES, EPERM, EROFS exit 1, refused or out of space, not usage', () => {
    expect(fileSystemError(thrown(() => readFileSync(join(dir, 'sub'))))!.message).toBe('cannot read a file: illegal operation on a directory')
    for (const [code, errorCode] of [['ENOSPC', 'no_space'], ['EACCES', 'forbidden'], ['EPERM', 'forbidden'], ['EROFS', 'forbidden']]) {
      const e = Object.assign(new Error(`${code}: some reason, write`), {code, syscall: 'write', path: '/x/y'})
      expect(fileSystemError(e)).toMatchObject({message: 'cannot write /x/y: some reason', exit: 1, code: errorCode})
    }
  })

  it('anything else is still a bug', () => {
    expect(fileSystemError(new Error('EISDIR'))).toBeUndefined()
    expect(fileSystemError(Object.assign(new Error('x'), {code: 'ECONNRESET', syscall: 'read'}))).toBeUndefined()
    expect(fileSystemError(Object.assign(new Error('x'), {code: 'ENOENT'}))).toBeUndefined()
    expect(fileSystemError(Object.assign(new Error('spawn ssh ENOENT'), {code: 'ENOENT', syscall: 'spawn ssh', path: 'ssh'}))).toBeUndefined()
  })

  it('renderError prints error: and hint:, and returns the exit code', () => {
    let err = ''
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true))
    expect(renderError(thrown(() => writeFileSync(join(dir, 'sub'), 'x')), false)).toBe(2)
    expect(err).toMatch(/^error: cannot open .*sub: illegal operation on a directory\nhint: .+\n$/)
    expect(err).not.toContain('internal error')
  })

  it('a bug whose message carries a URL with a password: not printed, in the message nor in the STEME_DEBUG stack', () => {
    let err = ''
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true))
    vi.stubEnv('STEME_DEBUG', '1')
    try {
      expect(renderError(new Error('cannot use postgres://team:hunter2@db.internal/steme'), false)).toBe(1)
    } finally {
      vi.unstubAllEnvs()
    }
    expect(err).toMatch(/^internal error \(a bug in steme, please report it\): cannot use postgres:\/\/team:\*\*\*@db\.internal\/steme\nError: cannot use postgres:\/\/team:\*\*\*@db\.internal\/steme\n {4}at /)
    expect(err).not.toContain('hunter2')
  })
})

describe('a bug under --json', () => {
  it('one document, code internal, the message with any URL password hidden, a hint; the stack only on stderr with STEME_DEBUG', () => {
    let out = ''
    let err = ''
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true))
    vi.stubEnv('STEME_DEBUG', '1')
    try {
      expect(renderError(new Error('cannot use postgres://team:hunter2@db.internal/steme'), true)).toBe(1)
    } finally {
      vi.unstubAllEnvs()
    }
    expect(out.endsWith('\n') && out.indexOf('\n') === out.length - 1).toBe(true)
    expect(JSON.parse(out)).toEqual({error: {code: 'internal', message: 'cannot use postgres://team:***@db.internal/steme', hint: INTERNAL_HINT}})
    expect(out + err).not.toContain('hunter2')
    expect(err).toMatch(/^internal error \(a bug in steme, please report it\): cannot use postgres:\/\/team:\*\*\*@db\.internal\/steme\nError: /)
  })

  it("a bug's own hint and details: said after it on stderr, and in the document beside the hint to report it", () => {
    let out = ''
    let err = ''
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true))
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true))
    expect(renderError(new BugError('worker 1 exited', {hint: 'to go on, do this', details: {progress: {added: 3}}}), true)).toBe(1)
    expect(JSON.parse(out)).toEqual({error: {code: 'internal', message: 'worker 1 exited', hint: `to go on, do this; ${INTERNAL_HINT}`, progress: {added: 3}}})
    expect(err).toBe('internal error (a bug in steme, please report it): worker 1 exited\nhint: to go on, do this\n')
  })
})

describe('storeCloseError', () => {
  it('a store that failed as it closed: what failed and how to fix it, never a server password, even in the hint', () => {
    const file = storeCloseError(new Error('TransactionContext Error: Failed to commit: Cannot open file "/s/.steme/store.duckdb.wal": Is a directory'), '/s/.steme/store.duckdb')
    expect(file).toMatchObject({code: 'integrity', exit: 1})
    expect(file.message).toBe('the store /s/.steme/store.duckdb could not be closed cleanly: TransactionContext Error: Failed to commit: Cannot open file "/s/.steme/store.duckdb.wal": Is a directory')
    expect(storeCloseError(Object.assign(new Error("EACCES: permission denied, open '/s/x'"), {code: 'EACCES'}), '/s/.steme/store.duckdb').hint).toContain('ls -l /s/.steme/store.duckdb')
    const pg = storeCloseError(new Error('permission denied for table meta'), 'postgres://steme:hunter2@db/steme')
    expect(pg.code).toBe('forbidden')
    expect(pg.hint).not.toContain('hunter2')
    expect(storeCloseError(new Error('IO Error: No space left on device'), '/s/.steme/store.duckdb').code).toBe('no_space')
  })
})
