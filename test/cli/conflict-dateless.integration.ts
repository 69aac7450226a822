/**
 * The conflict score without a date on a real DuckDB store, through bin/run.js and `steme serve`:
 * the highest score `--valid-at` gives at any date, the same in query, conflicts, GET /v1/conflicts
 * and skeptic's threshold (needs `npm run build`).
 */
import {rmSync} from 'node:fs'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, tamperStore} from '../helpers/cli.js'
import {makeEnv, startDaemon, steme, type Env} from '../serve/daemon.js'

let e: Env
const json = async (...args: string[]) => {
  const r = await steme(e, [...args, '--json'])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout)
}
/** A plain fact about svc:<subject> tls, which ingest signs with the store's key as assert would. */
const fact = (subject: string, value: string, source: string, valid?: {from?: string; to?: string}) => JSON.stringify({subject, predicate: 'tls', value, source, ...(valid ? {valid} : {})})
// Through consensus, the lens `steme conflicts` ranks by (a store's default lens is recency).
const score = async (subject: string, ...more: string[]) => (await json('query', subject, 'tls', '--lens', 'consensus', ...more)).resolutions[0]

describe('the conflict score without a date', () => {
  beforeAll(async () => {
    e = makeEnv('steme-dateless-')
    expect((await steme(e, ['keys', 'generate'])).code).toBe(0)
    expect((await steme(e, ['init', '--dir', e.dir])).code).toBe(0)
    // "v" from W1 and W2 (2020 to 2022) and W3 (from 2024); "u" from W4 throughout.
    // A and D switch x to y in July 2025; B and E say y; C says x.
    // One ingest of plain facts, not eleven `steme assert` processes: the store holds the same
    // assertions, signed with its key, each with its source and valid range.
    const facts = [
      fact('svc:later', 'v', 'w1', {from: '2020-01-01', to: '2022-01-01'}),
      fact('svc:later', 'v', 'w2', {from: '2020-01-01', to: '2022-01-01'}),
      fact('svc:later', 'v', 'w3', {from: '2024-01-01'}),
      fact('svc:later', 'u', 'w4'),
      ...['A', 'D'].flatMap((w) => [fact('svc:switch', 'x', w, {to: '2025-07-01'}), fact('svc:switch', 'y', w, {from: '2025-07-01'})]),
      ...[['B', 'y'], ['E', 'y'], ['C', 'x']].map(([w, v]) => fact('svc:switch', v, w)),
    ]
    const ingested = await steme(e, ['ingest', '-', '--format', 'ndjson', '--json'], facts.join('\n') + '\n')
    expect(ingested.code, ingested.stderr).toBe(0)
    expect(JSON.parse(ingested.stdout)).toMatchObject({added: 11, rejected: 0})
  }, 120_000)
  afterAll(() => rmSync(e.dir, {recursive: true, force: true}))

  it('query: the highest --valid-at score at any date; the winner and probabilities over all dates as before', async () => {
    expect((await score('svc:later', '--valid-at', '2021-01-01')).conflict).toBeCloseTo(2 / 3, 12)
    expect((await score('svc:later', '--valid-at', '2024-06-01')).conflict).toBe(1)
    const later = await score('svc:later')
    expect(later).toMatchObject({conflict: 1, status: 'decided', winner: {value: 'v', probability: 0.75}})
    expect((await score('svc:switch', '--valid-at', '2025-06-01')).conflict).toBeCloseTo(0.8, 12)
    const switched = await score('svc:switch')
    expect(switched.conflict).toBeCloseTo(0.8, 12)
    expect(switched).toMatchObject({status: 'decided', winner: {value: 'y', probability: 0.8}})
  })

  it('conflicts --min-score 0.5 lists both pairs at those scores, and skeptic contests both', async () => {
    const c = await json('conflicts', '--min-score', '0.5')
    expect(c.conflicts.map((r: {subject: string; conflict: number}) => [r.subject, r.conflict])).toEqual([
      ['svc:later', 1],
      ['svc:switch', 0.8],
    ])
    const human = await steme(e, ['conflicts', '--min-score', '0.5'])
    expect(human.stdout).toContain('svc:switch')
    for (const subject of ['svc:later', 'svc:switch']) {
      const s = (await json('query', subject, 'tls', '--lens', 'skeptic')).resolutions[0]
      expect(s.status, subject).toBe('contested')
      expect(s.explanation.at(-1)).toMatch(/^no winner: conflict (1|0\.800) exceeds the threshold 0\.500/)
    }
  })

  it('GET /v1/conflicts of a daemon on the store answers the same scores', async () => {
    const d = await startDaemon(e)
    try {
      const res = await fetch(`${d.url}/v1/conflicts?min-score=0.5`, {headers: {authorization: `Bearer ${d.token}`}})
      expect(res.status).toBe(200)
      const page = (await res.json()) as {conflicts: Array<{subject: string; conflict: number}>}
      expect(page.conflicts.map((r) => [r.subject, r.conflict])).toEqual([
        ['svc:later', 1],
        ['svc:switch', 0.8],
      ])
      const skeptic = await fetch(`${d.url}/v1/query?subject=svc:switch&predicate=tls&lens=skeptic`, {headers: {authorization: `Bearer ${d.token}`}})
      expect(((await skeptic.json()) as {resolutions: Array<{status: string}>}).resolutions[0].status).toBe('contested')
    } finally {
      await d.stop()
    }
  }, 60_000)
})

describe('the conflict score without a date, on a range whose date does not parse', () => {
  it('scores the pair as --valid-at does at any date, in query and conflicts, without an internal error', () => {
    // A record stored before days a month lacks were refused: "2025-02-30" bounds nothing, so "1.2"
    // holds at every date beside "1.3", which has no range. Written as such a store holds it.
    const sb = sandbox('steme-dateless-unparsed-')
    try {
      expect(sb.run(['init']).code).toBe(0)
      expect(sb.run(['assert', 'svc:api', 'tls', '"1.2"', '--source', 'w:a', '--valid-from', '2025-03-01']).code).toBe(0)
      expect(sb.run(['assert', 'svc:api', 'tls', '"1.3"', '--source', 'w:b']).code).toBe(0)
      tamperStore(sb, "update records set canonical = replace(canonical, '2025-03-01', '2025-02-30')")
      const at = sb.json<{resolutions: Array<{conflict: number}>}>(['query', 'svc:api', 'tls', '--lens', 'consensus', '--valid-at', '2020-01-01']).resolutions[0]
      expect(at.conflict).toBe(1)
      const q = sb.json<{resolutions: Array<{conflict: number; explanation: string[]}>}>(['query', 'svc:api', 'tls', '--lens', 'consensus']).resolutions[0]
      expect(q.conflict).toBe(1)
      expect(q.explanation).toContain(
        'conflict 1 is the highest at any one date: at every date (--valid-at 1970-01-01 gives it), the one stretch of time in which two values hold',
      )
      const c = sb.json<{conflicts: Array<{subject: string; conflict: number}>}>(['conflicts'])
      expect(c.conflicts.map((r) => [r.subject, r.conflict])).toEqual([['svc:api', 1]])
      const human = sb.run(['conflicts'])
      expect(human.code, human.stderr).toBe(0)
      expect(human.stderr).not.toContain('internal error')
    } finally {
      sb.cleanup()
    }
  }, 60_000)
})
