import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {spawn} from 'node:child_process'
import {chmodSync, mkdirSync, readdirSync, readFileSync, statSync, watch, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

// Enough records that an export takes a while (several scan batches), so a signal lands mid-way.
const RECORDS = 30_000
const OLD = 'the previous backup\n'

let sb: Sandbox
beforeAll(() => {
  sb = sandbox()
  expect(sb.run(['init']).code).toBe(0)
  const csv = ['subject,predicate,value', ...Array.from({length: RECORDS}, (_, i) => `s:${i},p,${i}`)].join('\n')
  writeFileSync(join(sb.dir, 'in.csv'), csv)
  expect(sb.run(['ingest', 'in.csv']).code).toBe(0)
})
afterAll(() => sb.cleanup())

/** A fresh directory holding only an old backup.ndjson. */
function outDir(name: string, mode = 0o600): string {
  const dir = join(sb.dir, name)
  mkdirSync(dir)
  writeFileSync(join(dir, 'backup.ndjson'), OLD)
  chmodSync(join(dir, 'backup.ndjson'), mode)
  return dir
}

describe('steme export -o FILE replaces FILE only when the export is complete', () => {
  it('a bad flag exits 2 and leaves FILE as it was', () => {
    const dir = outDir('bad-flag')
    const r = sb.run(['export', '--since', '2026-13-45', '-o', join(dir, 'backup.ndjson')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('"2026-13-45" is neither a date nor an HLC stamp')
    expect(readFileSync(join(dir, 'backup.ndjson'), 'utf8')).toBe(OLD)
    expect(readdirSync(dir)).toEqual(['backup.ndjson'])
  })

  it('refuses to write over the store file it exports, or over the claims file claims explain renders', () => {
    const store = join(sb.dir, '.steme', 'store.duckdb')
    const before = readFileSync(store)
    for (const target of [store, join('.steme', 'store.duckdb')]) {
      const r = sb.run(['export', '-o', target])
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toContain(`error: --output ${target} is the store file this exports: writing there would replace it`)
    }
    expect(readFileSync(store).equals(before)).toBe(true)
    expect(sb.run(['stats', '--json']).stdout).toContain('"records": 30000')
    const claims = join(sb.dir, '.steme', 'claims.toml')
    const text = '[[claim]]\nid = "a"\nsubject = "s"\npredicate = "p"\ncompare = "present"\n'
    writeFileSync(claims, text)
    const r = sb.run(['claims', 'explain', '-o', claims])
    expect(r.stderr).toContain(`error: --output ${claims} is the claims file this renders: writing there would replace it`)
    expect(r.code).toBe(2)
    expect(readFileSync(claims, 'utf8')).toBe(text)
  })

  it('a completed export replaces FILE, keeping its mode; a new file gets 0644 less the umask', () => {
    const dir = outDir('done', 0o640)
    const r = sb.run(['export', '--subject', 's:7', '-o', join(dir, 'backup.ndjson')])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('1 record written to')
    expect(readFileSync(join(dir, 'backup.ndjson'), 'utf8')).toBe(sb.run(['export', '--subject', 's:7']).stdout)
    expect(statSync(join(dir, 'backup.ndjson')).mode & 0o777).toBe(0o640)
    expect(sb.run(['export', '--subject', 's:7', '-o', join(dir, 'new.ndjson')]).code).toBe(0)
    expect(statSync(join(dir, 'new.ndjson')).mode & 0o777).toBe(0o644 & ~process.umask())
    expect(readdirSync(dir).sort()).toEqual(['backup.ndjson', 'new.ndjson'])
  })

  it('-o a directory or a path in a missing directory is a usage error naming the flag', () => {
    const dir = outDir('paths')
    const asDir = sb.run(['export', '-o', dir])
    expect(asDir.code).toBe(2)
    expect(asDir.stderr).toContain(`error: --output ${dir} is a directory`)
    expect(asDir.stderr).toMatch(/^hint: /m)
    const missing = sb.run(['export', '-o', 'missing-dir/x.ndjson'])
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain('error: --output missing-dir/x.ndjson: the directory missing-dir does not exist')
    for (const r of [asDir, missing]) expect(r.stderr).not.toMatch(/internal error|Unhandled|at .*\.js:\d+/)
    expect(readdirSync(dir)).toEqual(['backup.ndjson'])
  })

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during the export leaves FILE as it was and no temporary file`, async () => {
      const dir = outDir(`signal-${signal}`)
      // Signal the export as soon as it touches the directory (makes its temporary file, or opens FILE).
      const watcher = watch(dir)
      const child = spawn(process.execPath, [BIN, 'export', '-o', join(dir, 'backup.ndjson')], {cwd: sb.dir, env: sb.env, stdio: ['ignore', 'ignore', 'pipe']})
      let stderr = ''
      child.stderr.on('data', (d) => (stderr += d))
      watcher.once('change', () => child.kill(signal))
      const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])))
      watcher.close()
      expect(stderr).not.toContain('records written')
      expect(sig ?? code).toBe(signal)
      expect(readFileSync(join(dir, 'backup.ndjson'), 'utf8')).toBe(OLD)
      expect(readdirSync(dir)).toEqual(['backup.ndjson'])
    })
  }
})
