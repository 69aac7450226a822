/**
 * An ingest whose worker thread dies part way (compiled, so real worker threads, into a real DuckDB
 * file): it fails rather than waiting forever for the lost chunk, and what it stored is the input
 * up to the line its progress names, nothing after it, as checked chunks are taken in input order.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import type {Worker} from 'node:worker_threads'
import {beforeAll, expect, it} from 'vitest'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {initHash} from '../../src/core/hash.js'
import {Hlc} from '../../src/core/hlc.js'
import type {Deps} from '../../src/ops/deps.js'
import type {ChunkRunner} from '../../src/ops/verify-pool.js'
import {testKey} from '../helpers/records.js'

type Ingest = typeof import('../../src/ops/ingest.js')
type Pool = typeof import('../../src/ops/verify-pool.js')
type Duck = typeof import('../../src/adapters/duckdb/index.js')

beforeAll(() => initHash())

it('a worker lost part way: the ingest fails, and stored exactly the lines up to its lastLine', async () => {
  const {ingestOp, doneBeforeFailure} = (await import('../../dist/ops/ingest.js')) as Ingest
  const {startRunner} = (await import('../../dist/ops/verify-pool.js')) as Pool
  const {DuckDBStore} = (await import('../../dist/adapters/duckdb/index.js')) as Duck
  const dir = mkdtempSync(join(tmpdir(), 'steme-ingest-lost-'))
  const store = await DuckDBStore.open(join(dir, 'store.duckdb'), {create: true})
  const key = testKey(9)
  const pool = (await startRunner(key, {threads: 2})) as ChunkRunner & {threads: Worker[]}
  try {
    // The eighth chunk's worker is stopped as soon as the chunk is handed to it.
    let calls = 0
    const runner: ChunkRunner = {
      parallelism: pool.parallelism,
      crypto: pool.crypto,
      close: () => pool.close(),
      run: (job) => {
        const p = pool.run(job)
        if (++calls === 8) void pool.threads[0].terminate()
        return p
      },
    }
    // Plain facts whose values are their line numbers; a blank line and a bad one now and then.
    const lines: string[] = []
    for (let i = 1; lines.length < 30_000; i++) lines.push(i % 997 === 0 ? '' : i % 1499 === 0 ? '{bad' : JSON.stringify({subject: `s:${i % 50}`, predicate: 'p', value: lines.length + 1}))
    const deps: Deps = {store, clock: new Hlc(undefined), config: {...DEFAULT_CONFIG, skewSeconds: 60}, key: () => key, saveClock: async () => undefined}
    const failed = await ingestOp(deps, {input: Readable.from([lines.join('\n')]), chunkLines: 1000, runner}).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(failed).toMatchObject({name: 'BugError', message: expect.stringMatching(/ingest worker \d+ exited/)})
    const done = doneBeforeFailure(failed)!
    expect(done.lastLine).toBeGreaterThan(0)
    expect(done.lastLine! % 1000).toBe(0)
    const values: number[] = []
    for await (const batch of store.scan()) for (const s of batch) values.push((s.record as {value: number}).value)
    values.sort((a, b) => a - b)
    const upTo = lines.slice(0, done.lastLine).flatMap((l, k) => (l.startsWith('{"subject"') ? [k + 1] : []))
    expect(values).toEqual(upTo)
    expect(done.added).toBe(upTo.length)
    expect(done.rejected).toBe(lines.slice(0, done.lastLine).filter((l) => l === '{bad').length)
  } finally {
    await pool.close()
    await store.close()
    rmSync(dir, {recursive: true, force: true})
  }
}, 120_000)
