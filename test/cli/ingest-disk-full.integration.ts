/** An ingest whose store's disk fills: said as a full disk (exit 1) with what was stored, not as a bug. Needs a small tmpfs (root). */
import {spawnSync} from 'node:child_process'
import {cpSync, mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
let disk: string
let mounted = false
let disk2: string
let mounted2 = false
beforeAll(() => {
  sb = sandbox()
  disk = join(sb.dir, 'small-disk')
  mkdirSync(disk)
  mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', disk]).status === 0
  // Room for the first append of 65,536 rows, not for the whole input.
  disk2 = join(sb.dir, 'fills-later')
  mkdirSync(disk2)
  mounted2 = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=45m', 'tmpfs', disk2]).status === 0
})
afterAll(() => {
  if (mounted) spawnSync('umount', [disk])
  if (mounted2) spawnSync('umount', [disk2])
  sb.cleanup()
})

describe('ingest on a disk that fills', () => {
  it('is no_space (exit 1) with the progress in the --json error, and a hint to free space', (ctx) => {
    if (!mounted) ctx.skip()
    expect(sb.run(['init'], {cwd: disk}).code).toBe(0)
    const file = join(sb.dir, 'facts.ndjson')
    // 20,000 facts: their first append (all of them) is several MB, far more than the disk holds.
    writeFileSync(file, Array.from({length: 20_000}, (_, i) => JSON.stringify({subject: `s:${i % 500}`, predicate: 'p', value: `${'x'.repeat(50)}${i}`})).join('\n') + '\n')
    const r = sb.run(['ingest', file, '--json'], {cwd: disk})
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).not.toContain('internal error')
    const {error} = JSON.parse(r.stdout) as {error: {code: string; message: string; hint: string; progress: Record<string, number>}}
    expect(error.code).toBe('no_space')
    expect(error.message).toMatch(/^the store .*store\.duckdb could not be written: .*No space left on device/)
    expect(error.progress).toEqual({added: 0, present: 0, rejected: 0})
    expect(error.hint).toMatch(/^before the failure: 0 added, 0 already present, 0 rejected; free some space on its disk/)
    rmSync(file)
  })

  it('fills part way: the tail command stores every fact once, and rejected counts only the lines up to lastLine', (ctx) => {
    if (!mounted2) ctx.skip()
    expect(sb.run(['init'], {cwd: disk2}).code).toBe(0)
    // CRLF, blank lines, bad lines throughout, and a last line without a newline.
    const lines: string[] = []
    // 160,000 facts: the first append (65,536 rows or a little more) fits the 45 MB disk, the second
    // (as many rows again, or more) does not, so the failure comes part way, after a commit.
    const N = 160_000
    for (let i = 0; i < N; i++) {
      if (i % 1000 === 7) lines.push('')
      if (i % 5000 === 3) lines.push('{bad json')
      lines.push(JSON.stringify({subject: `s:${i % 500}`, predicate: 'p', value: `v${i}`}))
    }
    const file = join(sb.dir, 'many.ndjson')
    writeFileSync(file, lines.join('\r\n'))
    const r = sb.run(['ingest', file, '--json'], {cwd: disk2})
    expect(r.code, r.stderr).toBe(1)
    const {error} = JSON.parse(r.stdout) as {error: {code: string; hint: string; progress: {added: number; present: number; rejected: number; lastLine: number}}}
    expect(error.code).toBe('no_space')
    const {progress} = error
    expect(progress.added).toBeGreaterThan(0)
    const upTo = lines.slice(0, progress.lastLine)
    expect(progress.added).toBe(upTo.filter((l) => l.startsWith('{"subject"')).length)
    // The rejections said are those of the lines up to lastLine: the ones after it are rejected again by the rerun.
    expect(progress.rejected).toBe(upTo.filter((l) => l === '{bad json').length)
    expect(error.hint).toContain(`${progress.added} added, 0 already present, ${progress.rejected} rejected; every line up to ${progress.lastLine} of ${file}`)
    expect(error.hint).toContain(`tail -n +${progress.lastLine + 1} ${file} | steme ingest --format ndjson -`)
    // Go on with the command the hint gives, on a copy of the store with room.
    const roomy = join(sb.dir, 'roomy')
    mkdirSync(roomy)
    cpSync(join(disk2, '.steme'), join(roomy, '.steme'), {recursive: true})
    const rest = spawnSync('tail', ['-n', `+${progress.lastLine + 1}`, file], {encoding: 'utf8', maxBuffer: 64 << 20}).stdout
    const more = sb.run(['ingest', '--format', 'ndjson', '-', '--json'], {cwd: roomy, input: rest})
    expect(more.code).toBe(1)
    const res = JSON.parse(more.stdout) as {added: number; rejected: number}
    expect(progress.rejected + res.rejected).toBe(N / 5000)
    const stats = sb.json<{records: number}>(['stats', '--json'], {cwd: roomy})
    expect(stats.records).toBe(N)
    rmSync(file)
  })
})
