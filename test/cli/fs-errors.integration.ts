import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {sandbox, type Sandbox} from '../helpers/cli.js'

// A store with one claim, a directory and a file to pass where the other is wanted.
let sb: Sandbox
beforeAll(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
  expect(sb.run(['claims', 'add', '--id', 'c1', '--subject', 'a', '--predicate', 'p', '--expect', '1']).code).toBe(0)
  mkdirSync(join(sb.dir, 'somedir'))
  writeFileSync(join(sb.dir, 'somefile'), 'a file\n')
})
afterAll(() => sb.cleanup())

/** A refusal the user can act on: exit 2, the message and a hint, and no trace of a bug. */
function refused(args: string[], message: string, cwd?: string): void {
  const r = sb.run(args, {cwd})
  expect(r.stderr).toContain(`error: ${message}`)
  expect(r.stderr).toMatch(/^hint: \S/m)
  expect(r.stderr).not.toMatch(/internal error|Unhandled|    at /)
  expect(r.code).toBe(2)
}

describe('a path that is a directory, a file or in the way is the user\'s error', () => {
  it('ingest DIR', () => {
    refused(['ingest', 'somedir'], 'somedir is a directory, not a file to ingest')
  })

  it('export -o DIR and claims explain -o DIR', () => {
    refused(['export', '-o', 'somedir'], '--output somedir is a directory')
    refused(['claims', 'explain', '-o', 'somedir'], '--output somedir is a directory')
    expect(readdirSync(join(sb.dir, 'somedir'))).toEqual([])
  })

  it('verify --claims DIR and claims list --claims DIR', () => {
    refused(['verify', '--claims', 'somedir'], 'the claims file somedir is a directory')
    refused(['claims', 'list', '--claims', 'somedir'], 'the claims file somedir is a directory')
  })

  it('init --dir FILE, and init where .steme is a file: nothing is created', () => {
    refused(['init', '--dir', 'somefile'], 'init --dir somefile is not a directory')
    refused(['init', '--dir', 'somefile/sub'], 'init --dir somefile/sub: a part of the path is not a directory')
    const other = sandbox()
    try {
      writeFileSync(join(other.dir, '.steme'), '')
      const r = other.run(['init'])
      expect(r.stderr).toContain(`error: ${join(other.dir, '.steme')} is there and is not a directory`)
      expect(r.stderr).not.toContain('internal error')
      expect(r.code).toBe(2)
      expect(readdirSync(other.dir)).toEqual(['.steme'])
    } finally {
      other.cleanup()
    }
  })

  it('migrate --to FILE that is not a store: refused, nothing copied into thin air, the file untouched', () => {
    // DuckDB took facts.ndjson for something else and ran in memory: "72 added", exit 0, and nothing kept.
    expect(sb.run(['assert', 's:m', 'p', '1']).code).toBe(0)
    writeFileSync(join(sb.dir, 'facts.ndjson'), '{"subject":"s","predicate":"p","value":1}\n')
    for (const file of ['somefile', 'facts.ndjson']) {
      const before = readFileSync(join(sb.dir, file), 'utf8')
      refused(['migrate', '--from', '.steme', '--to', file], `migrate --to ${file} is not a steme store: it is not a DuckDB database file`)
      expect(readFileSync(join(sb.dir, file), 'utf8')).toBe(before)
    }
    const r = sb.run(['migrate', '--from', '.steme', '--to', 'somedir'])
    expect(r.stderr).toContain(`error: migrate --to somedir: ${join(sb.dir, 'somedir')} holds no .steme store`)
    expect(r.stderr).not.toContain('IO Error')
    expect(r.code).toBe(2)
    // A file in a directory that is not there: that directory is named, not its parent as a directory without .steme.
    for (const file of [join('nodir', 'store.duckdb'), join('nodir', 'copy.duckdb')]) {
      const missing = sb.run(['migrate', '--from', '.steme', '--to', file])
      expect(missing.code, missing.stderr).toBe(2)
      expect(missing.stderr).toContain(`error: migrate --to ${file}: the directory ${join(sb.dir, 'nodir')} does not exist`)
      expect(missing.stderr).not.toContain('holds no .steme store')
      expect(missing.stderr).not.toContain('IO Error')
      expect(missing.stderr).toContain('mkdir -p')
    }
    // A new file is a new store, and the records are there.
    const made = sb.run(['migrate', '--from', '.steme', '--to', 'copy.duckdb', '--json'])
    expect(made.code, made.stderr).toBe(0)
    expect(sb.json<{records: number}>(['stats', '--store', 'copy.duckdb']).records).toBe(JSON.parse(made.stdout).scanned)
  })

  it('migrate --from what is not a store: the error and hint speak of --from, the flag typed, not of --store', () => {
    writeFileSync(join(sb.dir, 'export.ndjson'), '{"subject":"s","predicate":"p","value":1}\n')
    for (const [from, message] of [
      ['nostore', `migrate --from nostore: no store at ${join(sb.dir, 'nostore')}`],
      ['export.ndjson', 'migrate --from export.ndjson is not a steme store: it is not a DuckDB database file'],
    ]) {
      refused(['migrate', '--from', from, '--to', 'from-copy.duckdb'], message)
      const r = sb.run(['migrate', '--from', from, '--to', 'from-copy.duckdb'])
      expect(r.stderr).toMatch(/^hint: --from names the store to copy/m)
      expect(r.stderr).not.toContain('--store')
    }
    expect(sb.run(['migrate', '--from', 'export.ndjson', '--to', 'from-copy.duckdb']).stderr).toContain('run `steme ingest export.ndjson`')
    expect(readdirSync(sb.dir)).not.toContain('from-copy.duckdb')
  })

  it('a system error on a path no command checked is rendered with the path, not as a bug', () => {
    // --update-baseline writes where --baseline points; a directory there fails in the write itself.
    refused(['verify', '--update-baseline', '--baseline', 'somedir'], 'cannot open somedir: illegal operation on a directory')
  })
})

describe('a damaged store file', () => {
  it('is reported as damaged, with what to do, by the commands that read it (exit 1, not a bug)', () => {
    const other = sandbox()
    try {
      expect(other.run(['init']).code).toBe(0)
      const facts = Array.from({length: 20_000}, (_, i) => JSON.stringify({subject: `s:${i}`, predicate: 'p', value: i})).join('\n') + '\n'
      expect(other.run(['ingest', '-'], {input: facts}).code).toBe(0)
      const file = join(other.dir, '.steme', 'store.duckdb')
      const whole = readFileSync(file)
      // Cut after its first MB: it still opens, and reading the records fails.
      writeFileSync(file, whole.subarray(0, 1_000_000))
      for (const args of [['fsck'], ['query', 's:12345']]) {
        const r = other.run(args)
        expect(r.stderr, args.join(' ')).toMatch(/^error: the store file is damaged, and steme cannot read it: Could not read enough bytes/m)
        expect(r.stderr).toMatch(/^hint: restore store\.duckdb from a backup/m)
        expect(r.stderr).not.toMatch(/internal error/)
        expect(r.code, args.join(' ')).toBe(1)
      }
      // Cut inside its header blocks: it does not open at all.
      writeFileSync(file, whole.subarray(0, 20_000))
      const r = other.run(['stats'])
      expect(r.stderr).toContain('error: the store file is damaged')
      expect(r.code).toBe(1)
    } finally {
      other.cleanup()
    }
  })
})
