/** The ingest worker pool (compiled, so real worker threads) survives a worker that dies: its jobs fail as bugs, later jobs run. */
import type {Worker} from 'node:worker_threads'
import {beforeAll, describe, expect, it} from 'vitest'
import {initHash} from '../../src/core/hash.js'
import {recordLine} from '../../src/core/seal.js'
import {many} from '../helpers/records.js'

type Runner = Awaited<ReturnType<typeof import('../../src/ops/verify-pool.js').startRunner>>
type Pool = Runner & {threads: Worker[]}

const pool = async (threads: number): Promise<Pool> => {
  const {startRunner} = (await import('../../dist/ops/verify-pool.js')) as typeof import('../../src/ops/verify-pool.js')
  const r = (await startRunner(undefined, {threads})) as Pool
  expect(r.threads).toHaveLength(threads)
  return r
}

beforeAll(() => initHash())

const recs = many(300)
/** A job big enough that a worker cannot finish it before the same tick stops the worker. */
const job = (seq: number) => {
  const text = Array.from({length: 10}, () => recs.map((s) => recordLine(s.canonical, s.record.id, s.record.sig)).join('\n')).join('\n') + '\n'
  return {seq, text: new TextEncoder().encode(text), lineNos: {first: 1}, nowMs: Date.now(), skewMs: 60_000}
}

describe('verify pool', () => {
  it('signs and verifies with libsodium in its workers, with the answers OpenSSL gives', async () => {
    const p = await pool(2)
    try {
      expect(p.crypto).toBe('libsodium')
      const r = await p.run(job(1))
      expect([r.lines, r.errors]).toEqual([3000, []])
      // One record with a broken signature is still refused.
      const line = recordLine(recs[0].canonical, recs[0].record.id, recs[0].record.sig.replace(/^./, (c) => (c === '0' ? '1' : '0')))
      const bad = await p.run({seq: 2, text: new TextEncoder().encode(line + '\n'), lineNos: {first: 1}, nowMs: Date.now(), skewMs: 60_000})
      expect(bad.errors).toEqual([expect.objectContaining({line: 1, reason: expect.stringMatching(/sig/)})])
    } finally {
      await p.close()
    }
  })

  it('fails only the jobs of a worker that died, and runs later jobs on the others', async () => {
    const p = await pool(2)
    try {
      const [victim] = p.threads
      // Two jobs go to different workers (fewest queued first); stop the first one's worker at once.
      const lost = p.run(job(1))
      const kept = p.run(job(2))
      void victim.terminate()
      await expect(lost).rejects.toMatchObject({name: 'BugError', message: expect.stringMatching(/ingest worker \d+ exited/)})
      expect((await kept).lines).toBe(3000)
      expect(p.threads).not.toContain(victim)
      const later = await Promise.all([3, 4, 5, 6, 7].map((s) => p.run(job(s))))
      expect(later.map((r) => [r.seq, r.errors.length, r.lines])).toEqual([3, 4, 5, 6, 7].map((s) => [s, 0, 3000]))
    } finally {
      await p.close()
    }
  })

  it('with its only worker dead, wakes the jobs waiting for room and runs them on a replacement', async () => {
    const p = await pool(1)
    try {
      const [victim] = p.threads
      // Three fill the worker's queue, three more wait for room.
      const jobs = [1, 2, 3, 4, 5, 6].map((s) => p.run(job(s)))
      void victim.terminate()
      const settled = await Promise.allSettled(jobs)
      expect(settled.slice(0, 3).map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected'])
      expect(settled.slice(3).map((s) => (s.status === 'fulfilled' ? s.value.seq : s.reason))).toEqual([4, 5, 6])
      expect(p.threads).toHaveLength(1)
      expect(p.threads[0]).not.toBe(victim)
    } finally {
      await p.close()
    }
  })

  it('after close, a job fails at once instead of waiting', async () => {
    const p = await pool(1)
    await p.close()
    await expect(p.run(job(1))).rejects.toMatchObject({name: 'BugError'})
  })
})
