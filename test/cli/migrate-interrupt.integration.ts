/** Ctrl-C during `steme migrate`: the batches read are committed, the summary says how many records the target holds, and running it again copies the rest. */
import {spawn} from 'node:child_process'
import {existsSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'

const TOTAL = 3000
let sb: Sandbox
beforeAll(() => {
  sb = sandbox('steme-migrate-int-')
  expect(sb.run(['init', '--dir', sb.dir]).code).toBe(0)
  writeFileSync(join(sb.dir, 'facts.csv'), 'subject,predicate,value\n' + Array.from({length: TOTAL}, (_, i) => `s:${i},p,${i}`).join('\n') + '\n')
  expect(sb.run(['ingest', 'facts.csv']).code).toBe(0)
})
afterAll(() => sb.cleanup())

const count = (store: string) => sb.json<{records: number}>(['stats', '--store', store]).records

describe('steme migrate, interrupted', () => {
  it('exits 130 saying how many records the target holds, which it does, whole; the same command again copies the rest', async () => {
    const target = join(sb.dir, 'copy.duckdb')
    // Three records a transaction: the copy takes far longer than it takes to see it has begun.
    const p = spawn(process.execPath, [BIN, 'migrate', '--from', '.steme', '--to', target, '--batch', '3'], {cwd: sb.dir, env: sb.env})
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    const closed = new Promise<number | null>((r) => p.on('close', r))
    // Some batches are committed once the target's write-ahead log holds some records.
    const wal = `${target}.wal`
    while (!(existsSync(wal) && statSync(wal).size > 50_000) && p.exitCode === null) await new Promise((r) => setTimeout(r, 20))
    p.kill('SIGINT')
    const code = await closed
    expect(code, stderr).toBe(130)
    const m = /interrupted: the (\d+) records counted above are in .*copy\.duckdb, the rest are not; to copy them, run the same command again/.exec(stderr)
    expect(m, stderr).not.toBeNull()
    const copied = Number(m![1])
    expect(copied).toBeGreaterThan(0)
    expect(copied).toBeLessThan(TOTAL)
    expect(stdout).toMatch(new RegExp(`: ${copied} records read, ${copied} added, 0 already present, 0 bad`))
    expect(count(target)).toBe(copied)
    expect(sb.run(['fsck', '--store', target]).code).toBe(0)

    const again = sb.run(['migrate', '--from', '.steme', '--to', target, '--json'])
    expect(again.code, again.stderr).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({scanned: TOTAL, added: TOTAL - copied, present: copied, bad: 0})
    expect(JSON.parse(again.stdout).interrupted).toBeUndefined()
    expect(count(target)).toBe(TOTAL)
  })
})
