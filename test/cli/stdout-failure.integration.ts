/** A write to stdout that fails (a full disk under `> file`) is said as an error with exit 1, never a crash's stack trace nor exit 0; one to stderr changes nothing. */
import {spawnSync} from 'node:child_process'
import {closeSync, existsSync, openSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

/** /dev/full takes no byte: every write to it fails with ENOSPC, as on a full disk. */
const FULL = '/dev/full'

function runIntoFullDisk(sb: Sandbox, args: string[], full: 'stdout' | 'stderr' | 'both' = 'stdout'): {code: number | null; stdout: string; stderr: string} {
  const fd = openSync(FULL, 'w')
  try {
    const stdio = ['ignore', full === 'stderr' ? 'pipe' : fd, full === 'stdout' ? 'pipe' : fd] as const
    const r = spawnSync(process.execPath, [BIN, ...args], {cwd: sb.dir, env: sb.env, stdio: [...stdio], encoding: 'utf8'})
    return {code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? ''}
  } finally {
    closeSync(fd)
  }
}

const SAID =
  'error: could not write the output to stdout: no space left on device (ENOSPC); what reached it is incomplete\n' +
  'hint: free some space where stdout goes, or send it elsewhere, then run the command again\n'

describe.skipIf(!existsSync(FULL))('stdout on a full disk', () => {
  let sb: Sandbox
  beforeAll(() => {
    sb = sandbox('steme-full-')
    expect(sb.run(['init', '--dir', sb.dir]).code).toBe(0)
    writeFileSync(join(sb.dir, 'facts.ndjson'), Array.from({length: 3000}, (_, i) => JSON.stringify({subject: `s:${i}`, predicate: 'p', value: `value ${i}`})).join('\n') + '\n')
    expect(sb.run(['ingest', 'facts.ndjson']).code).toBe(0)
  })
  afterAll(() => sb.cleanup())

  it('streamed listings, results, --json and help: exit 1 and one error on stderr, so `set -e` stops on a cut-short backup', () => {
    for (const args of [['export'], ['log'], ['log', '--json'], ['stats'], ['stats', '--json'], ['keys', 'list', '--json'], ['--help'], ['query', '--help'], ['--version']]) {
      const r = runIntoFullDisk(sb, args)
      expect({args, code: r.code, stderr: r.stderr}).toEqual({args, code: 1, stderr: SAID})
    }
  })

  it('a record command whose id cannot be printed says the record is stored, and its id, so a script does not store it twice', () => {
    const sb = sandbox('steme-full-record-')
    expect(sb.run(['init', '--dir', sb.dir]).code).toBe(0)
    try {
      for (const [args, kind] of [[['assert', 'full:1', 'p', '7'], 'assertion'], [['assert', 'full:1', 'p', '8', '--json'], 'assertion'], [['epoch', 'full-era', '--starts', '2024-01-01'], 'epoch']] as const) {
      const r = runIntoFullDisk(sb, [...args])
      expect(r.code).toBe(1)
      const id = /The (\w+) was stored all the same, as ([0-9a-f]{64})\n/.exec(r.stderr)
      expect({args, kind: id?.[1]}).toEqual({args, kind})
      expect(r.stderr).toContain('hint: do not run the command again for this')
      const shown = sb.run(['show', id![2], '--json'])
      expect({code: shown.code, kind: JSON.parse(shown.stdout).record.kind}).toEqual({code: 0, kind})
      }
      // Each run stored exactly one record, which the message named.
      expect(JSON.parse(sb.run(['stats', '--json']).stdout).records).toBe(3)
    } finally {
      sb.cleanup()
    }
  })

  it('ingest whose summary cannot be printed says the records are stored, so a script does not sign its plain facts twice', () => {
    const sb = sandbox('steme-full-ingest-')
    expect(sb.run(['init', '--dir', sb.dir]).code).toBe(0)
    try {
      writeFileSync(join(sb.dir, 'two.ndjson'), '{"subject":"dup:1","predicate":"p","value":1}\n{"subject":"dup:2","predicate":"p","value":2}\n')
      for (const json of [false, true]) {
        const r = runIntoFullDisk(sb, ['ingest', 'two.ndjson', ...(json ? ['--json'] : [])])
        expect(r.code).toBe(1)
        expect(r.stderr).toContain('what reached it is incomplete. The 2 records added were stored all the same\n')
        expect(r.stderr).toContain('hint: do not ingest the same input again for this: plain facts in it would be stored a second time')
        expect(r.stderr).not.toContain('run the command again')
      }
      expect(JSON.parse(sb.run(['stats', '--json']).stdout).records).toBe(4)
      // Nothing added (every line refused): nothing stored to warn of, and running it again is what to do.
      writeFileSync(join(sb.dir, 'bad.ndjson'), '{"subject":"dup:3"}\n')
      const none = runIntoFullDisk(sb, ['ingest', 'bad.ndjson'])
      expect(none.code).toBe(1)
      expect(none.stderr).not.toContain('stored all the same')
    } finally {
      sb.cleanup()
    }
  })

  it('stdout and stderr both on it: still exit 1', () => {
    expect(runIntoFullDisk(sb, ['stats'], 'both').code).toBe(1)
  })

  it('stderr on it: each command ends as it would have, with its result on stdout and its own exit code', () => {
    expect(runIntoFullDisk(sb, ['query'], 'stderr').code).toBe(2)
    expect(runIntoFullDisk(sb, ['nope'], 'stderr').code).toBe(2)
    const json = runIntoFullDisk(sb, ['query', '--json'], 'stderr')
    expect({code: json.code, error: JSON.parse(json.stdout).error.code}).toEqual({code: 2, error: 'usage'})
    // Its note ("3000 records written to ...") is lost; the file is whole.
    const exported = runIntoFullDisk(sb, ['export', '-o', 'all.ndjson'], 'stderr')
    expect(exported.code).toBe(0)
    expect(readFileSync(join(sb.dir, 'all.ndjson'), 'utf8').trimEnd().split('\n')).toHaveLength(3000)
    const q = runIntoFullDisk(sb, ['query', 's:1', '--json'], 'stderr')
    expect(q.code).toBe(0)
    expect(JSON.parse(q.stdout).subject).toBe('s:1')
  })

  it('the store is left whole', () => {
    expect(runIntoFullDisk(sb, ['export']).code).toBe(1)
    const r = sb.run(['fsck', '--json'])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({checked: 3000, bad: [], ok: true})
  })
})
