import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {initHash} from '../../src/core/hash.js'
import {recordLine} from '../../src/core/seal.js'
import {BIN, sandbox, type Sandbox} from '../helpers/cli.js'
import {many, testKey} from '../helpers/records.js'
import {FULL, report} from '../helpers/report.js'

// Full scale is the 1M-record ingest (tens of minutes: every kill is followed by an fsck).
// In CI, 10,000 records: fewer than one append group (65,536 rows), as 20,000 were, so the kills meet
// the same states (start-up, verifying, the one commit, after it) at half the signing and fsck work.
const N = FULL ? 1_000_000 : 10_000
const KILLS = FULL ? 20 : 5
// Kills land from process start-up to about the end of the ingest (a whole one of 10,000 records is
// about 1.5 s of CPU on two cores), half the span 20,000 had; a kill after the end finds it done.
const KILL_SPAN_MS = FULL ? 60_000 : 2_000

let sb: Sandbox
let file: string
beforeAll(async () => {
  await initHash()
  sb = sandbox('steme-crash-')
  sb.run(['init'])
  file = join(sb.dir, 'records.ndjson')
  const keys = [1, 2, 3, 4].map(testKey)
  const lines: string[] = []
  for (let k = 0; k < keys.length; k++) for (const s of many(N / keys.length, N / 40, keys[k])) lines.push(recordLine(s.canonical, s.record.id, s.record.sig))
  writeFileSync(file, lines.join('\n') + '\n')
}, FULL ? 3600_000 : 120_000)
afterAll(() => sb.cleanup())

/** Start an ingest and SIGKILL it after `ms`; resolves when it is gone. */
function killDuring(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, 'ingest', file], {cwd: sb.dir, env: sb.env, stdio: 'ignore'})
    const t = setTimeout(() => p.kill('SIGKILL'), ms)
    p.on('exit', () => {
      clearTimeout(t)
      resolve()
    })
  })
}

describe('kill -9 during ingest', () => {
  it(`${KILLS} kills at random points: the store opens, fsck passes, a rerun completes the set`, async () => {
    let counts: number[] = []
    for (let i = 0; i < KILLS; i++) {
      // Random points from process start-up to well into the ingest.
      await killDuring(200 + Math.floor(Math.random() * KILL_SPAN_MS))
      const fsck = sb.run(['fsck', '--json'])
      expect(fsck.code, fsck.stderr).toBe(0)
      const res = JSON.parse(fsck.stdout) as {checked: number; bad: unknown[]}
      expect(res.bad).toEqual([])
      expect(res.checked).toBeLessThanOrEqual(N)
      counts.push(res.checked)
    }
    // Counts never go down: committed batches survive every later kill.
    expect(counts).toEqual([...counts].sort((a, b) => a - b))
    const done = sb.json<{added: number; present: number; rejected: number}>(['ingest', file])
    expect(done.rejected).toBe(0)
    expect(done.added + done.present).toBe(N)
    expect(sb.json<{records: number}>(['stats']).records).toBe(N)
    expect(sb.run(['fsck']).code).toBe(0)
    report({suite: 'kill -9 during ingest', faults: KILLS, inputs: N, lost: N - sb.json<{records: number}>(['stats']).records, invalidStored: 0, crashes: 0})
    counts = []
    // Each round is a process start, a kill and an fsck: minutes on a loaded machine.
  }, FULL ? 4 * 3600_000 : 600_000)
})
