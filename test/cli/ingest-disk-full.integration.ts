/** An ingest whose store's disk fills: said as a full disk (exit 1) with what was stored, not as a bug. Needs a small tmpfs (root). */
import {spawnSync} from 'node:child_process'
import {mkdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
let disk: string
let mounted = false
beforeAll(() => {
  sb = sandbox()
  disk = join(sb.dir, 'small-disk')
  mkdirSync(disk)
  mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', disk]).status === 0
})
afterAll(() => {
  if (mounted) spawnSync('umount', [disk])
  sb.cleanup()
})

describe('ingest on a disk that fills', () => {
  it('is no_space (exit 1) with the progress in the --json error, and a hint to free space', (ctx) => {
    if (!mounted) ctx.skip()
    expect(sb.run(['init'], {cwd: disk}).code).toBe(0)
    const file = join(sb.dir, 'facts.ndjson')
    writeFileSync(file, Array.from({length: 100_000}, (_, i) => JSON.stringify({subject: `s:${i % 500}`, predicate: 'p', value: `${'x'.repeat(50)}${i}`})).join('\n') + '\n')
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
})
