/** The listing without a limit (conflictsListingOp): ranked on disk in runs of a bounded size, read back as conflictsOp ranks it. */
import {spawnSync} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {initHash} from '../../src/core/hash.js'
import {conflictsListingOp, conflictsOp, type ConflictRow, type ConflictsInput} from '../../src/ops/conflicts.js'
import {SortedRuns} from '../../src/ops/sorted-runs.js'
import {assertion, stamp, testKey} from '../helpers/records.js'

/** 60 contested pairs of several scores (ties among them), names that JSON must carry exactly. */
async function store(): Promise<MemoryStore> {
  const s = new MemoryStore()
  const out = []
  for (let n = 0; n < 60; n++) {
    const subject = ['s', 'q"', 'a\\b', 'café', '😀', 'x\ny'][n % 6] + n
    const hlc = (k: number) => stamp(1_700_000_000_000 + n, k)
    out.push(assertion({subject, predicate: 'p', value: 'a', hlc: hlc(0)}, testKey(1)))
    for (let k = 0; k <= n % 4; k++) out.push(assertion({subject, predicate: 'p', value: {b: k % 2}, hlc: hlc(k + 1)}, testKey(2 + k)))
    if (n % 3 === 0) out.push(assertion({subject, predicate: 'p', value: 3, confidence: 0.4, hlc: hlc(9)}, testKey(9)))
  }
  // An uncontested pair: counted among the pairs, never listed.
  out.push(assertion({subject: 'calm', predicate: 'p', value: 1, hlc: stamp(1_700_000_000_000, 99)}, testKey(1)))
  await s.insert(out)
  return s
}

const deps = (s: MemoryStore) => ({store: s, config: {...DEFAULT_CONFIG}})
let tmp: string
beforeAll(async () => {
  await initHash()
  tmp = mkdtempSync(join(tmpdir(), 'steme-listing-'))
})
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

async function all(rows: AsyncIterable<ConflictRow[]>): Promise<ConflictRow[]> {
  const out: ConflictRow[] = []
  for await (const batch of rows) out.push(...batch)
  return out
}

describe('conflicts without a limit', () => {
  it('holds at most a run of rows in memory, and reads back exactly the ranking conflictsOp gives', async () => {
    const s = await store()
    const inputs: ConflictsInput[] = [{}, {lens: 'recency'}, {lens: 'confidence'}, {minScore: 0.5}, {lens: 'votes', minScore: 0.2}, {minScore: 1}]
    for (const input of inputs) {
      const whole = await conflictsOp(deps(s), {...input, now: 1_800_000_000_000})
      const {conflicts, ...head} = whole
      for (const runRows of [1, 2, 7, 1000]) {
        const what = `${JSON.stringify(input)} runs of ${runRows}`
        const listing = await conflictsListingOp(deps(s), {...input, now: 1_800_000_000_000}, {runRows, tmpDir: tmp})
        try {
          expect(listing.head, what).toEqual(head)
          expect(listing.count, what).toBe(conflicts.length)
          expect(listing.peakHeld, what).toBeLessThanOrEqual(runRows)
          expect(listing.runs, what).toBe(Math.floor(conflicts.length / runRows))
          // Read in batches of every size, and twice (a table measures its columns first): the same rows, in the same order, as JSON prints them.
          for (const batch of [1, 3, 1024]) expect(JSON.stringify(await all(listing.rows(batch))), `${what}, batches of ${batch}`).toBe(JSON.stringify(conflicts))
        } finally {
          await listing.close()
        }
        expect(readdirSync(tmp), `${what}: the runs are removed`).toEqual([])
      }
    }
  })

  it('leaves no run behind when ranking fails', async () => {
    const s = await store()
    await expect(conflictsListingOp(deps(s), {lens: 'no-such-lens'}, {runRows: 1, tmpDir: tmp})).rejects.toThrow(/no-such-lens/)
    expect(readdirSync(tmp)).toEqual([])
  })
})

describe('sorted runs', () => {
  it('merges more runs than the process may open files at once, and removes them all', () => {
    // A real process under a real limit on open files (ulimit -n), from the build the CLI runs.
    // Runs of 2,000 lines of 100 bytes: each stays open while merged (its reader holds about a
    // thousand lines, then waits), 150 of them against a limit of 100 descriptors.
    const dir = mkdtempSync(join(tmpdir(), 'steme-fanin-'))
    try {
      const script = `
        import {readdirSync} from 'node:fs'
        import {SortedRuns} from ${JSON.stringify(pathToFileURL(resolve(__dirname, '../../dist/ops/sorted-runs.js')).href)}
        const runs = new SortedRuns((a, b) => (a < b ? -1 : a > b ? 1 : 0), 2000, ${JSON.stringify(dir)})
        const n = 300000
        for (let i = 0; i < n; i++) await runs.add(String((i * 7919) % n).padStart(100, '0'))
        let count = 0
        let last = ''
        let ordered = true
        for (const _ of [1, 2]) {
          for await (const batch of runs.sorted()) for (const x of batch) {
            if (count % n && x < last) ordered = false
            last = x
            count++
          }
        }
        await runs.close()
        console.log(JSON.stringify({runs: runs.runs, count, ordered, left: readdirSync(${JSON.stringify(dir)})}))
      `
      const r = spawnSync('sh', ['-c', 'ulimit -n 100 && exec "$0" --input-type=module -e "$1"', process.execPath, script], {encoding: 'utf8'})
      expect(r.stderr).toBe('')
      expect(JSON.parse(r.stdout)).toEqual({runs: 0, count: 600000, ordered: true, left: []})
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('says which temporary directory it cannot write to, and what to do, when a run cannot be written', async () => {
    const gone = join(tmp, 'no-such-dir')
    const runs = new SortedRuns((a: number, b: number) => a - b, 2, gone)
    await runs.add(1)
    const e = await runs.add(2).then(
      () => undefined,
      (x: Error & {hint?: string; exit?: number}) => x,
    )
    expect(e?.message).toMatch(new RegExp(`^cannot write a long listing's sorted runs to the temporary directory ${gone}: no such file or directory`))
    expect(e?.hint).toMatch(/TMPDIR.*--limit/)
    expect(e?.exit).toBe(1)
    await runs.close()
  })

  it('merges many runs of random numbers into one ascending order, ties and all', async () => {
    let seed = 7
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const items = Array.from({length: 5000}, (_, i) => ({k: Math.floor(rand() * 500), i}))
    const byK = (a: {k: number; i: number}, b: {k: number; i: number}) => a.k - b.k || a.i - b.i
    // 51 runs: merged at once, or first into longer runs, a few at a time (and read twice).
    for (const fanIn of [64, 7, 2]) {
      const runs = new SortedRuns(byK, 97, tmp, undefined, fanIn)
      for (const x of items) await runs.add(x)
      expect(runs.runs).toBe(Math.floor(5000 / 97))
      expect(runs.peakHeld).toBe(97)
      expect(await all(runs.sorted(500)), `fan-in ${fanIn}`).toEqual([...items].sort(byK))
      expect(runs.runs).toBeLessThanOrEqual(fanIn)
      expect(await all(runs.sorted(333)), `fan-in ${fanIn}, read again`).toEqual([...items].sort(byK))
      await runs.close()
      expect(existsSync(tmp) && readdirSync(tmp)).toEqual([])
    }
  })
})
