/**
 * kill -9 of `steme pull` at random points (real processes, real DuckDB files, the path
 * transport): after each kill both stores open and pass `steme fsck`, what was committed stays,
 * and a rerun completes the full set.
 */
import {spawn} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {initHash} from '../../src/core/hash.js'
import {recordLine} from '../../src/core/seal.js'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'
import {many, testKey} from '../helpers/records.js'
import {FULL, report} from '../helpers/report.js'

const N = FULL ? 100_000 : 6_000
const KILLS = FULL ? 20 : 3

let sb: Sandbox
const src = () => join(sb.dir, 'src')
const dst = () => join(sb.dir, 'dst')

beforeAll(async () => {
  await initHash()
  sb = sandbox('steme-crash-pull-')
  for (const d of [src(), dst()]) {
    mkdirSync(d)
    expect(sb.run(['init'], {cwd: d}).code).toBe(0)
  }
  const lines: string[] = []
  const keys = [3, 4].map(testKey)
  for (const k of keys) for (const s of many(N / keys.length, N / 50, k)) lines.push(recordLine(s.canonical, s.record.id, s.record.sig))
  writeFileSync(join(sb.dir, 'records.ndjson'), lines.join('\n') + '\n')
  const ing = sb.run(['ingest', join(sb.dir, 'records.ndjson'), '--json'], {cwd: src()})
  expect(ing.code, ing.stderr).toBe(0)
}, 300_000)
afterAll(() => sb?.cleanup())

/** Start a pull and SIGKILL it after `ms`; resolves when it is gone, with whether it finished first. */
function killDuring(ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, 'pull', '../src'], {cwd: dst(), env: sb.env, stdio: 'ignore'})
    const t = setTimeout(() => p.kill('SIGKILL'), ms)
    p.on('exit', (code) => {
      clearTimeout(t)
      resolve(code === 0)
    })
  })
}

function fsck(dir: string): number {
  const r = sb.run(['fsck', '--json'], {cwd: dir})
  expect(r.code, `fsck in ${dir}: ${r.stderr}`).toBe(0)
  const res = JSON.parse(r.stdout) as {checked: number; bad: unknown[]}
  expect(res.bad).toEqual([])
  return res.checked
}

describe('kill -9 during steme pull', () => {
  it(`${KILLS} kills at random points: both stores open, fsck passes, a rerun completes the set`, async () => {
    const counts: number[] = []
    let finished = 0
    for (let i = 0; i < KILLS; i++) {
      // From process start-up (opening the stores, the first round) to well into the transfer.
      if (await killDuring(300 + Math.floor(Math.random() * (FULL ? 8_000 : 2_000)))) finished++
      counts.push(fsck(dst()))
      // The remote store was open read-write in the killed process too: it must still open.
      expect(sb.json<{records: number}>(['stats'], {cwd: src()}).records).toBe(N)
    }
    // Committed batches survive every later kill: counts never go down.
    expect(counts).toEqual([...counts].sort((a, b) => a - b))
    const r = sb.run(['pull', '../src', '--json'], {cwd: dst()})
    expect(r.code, r.stderr).toBe(0)
    const s = JSON.parse(r.stdout) as {local: {added: number; rejected: number}; localRoot: unknown; remoteRoot: unknown}
    expect(s.local.rejected).toBe(0)
    expect(s.local.added).toBe(N - counts[counts.length - 1])
    expect(s.localRoot).toEqual(s.remoteRoot)
    const held = fsck(dst())
    expect(held).toBe(N)
    expect(fsck(src())).toBe(N)
    report({suite: 'kill -9 during pull', faults: KILLS - finished, inputs: N, lost: N - held, invalidStored: 0, crashes: 0})
  }, 600_000)
})
