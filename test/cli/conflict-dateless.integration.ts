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

describe('a pair past the stretch cap, in conflicts rows', () => {
  let c: Env
  const NOTE = '* the valid ranges (with the epoch starts and superseding assertions\' ranges that count) cut time into more than 64 stretches, so the score is the lens\'s over all dates'
  type Row = {subject: string; conflict: number; cappedStretches?: number}
  beforeAll(async () => {
    c = makeEnv('steme-capped-')
    expect((await steme(c, ['keys', 'generate'])).code).toBe(0)
    expect((await steme(c, ['init', '--dir', c.dir])).code).toBe(0)
    // Each of 64 days of 2020 one witness says "a" for that day alone; "b" holds throughout: 66
    // stretches, past the 64 worked out one by one. "svc:two" is an even split without ranges.
    const facts = [{subject: 'svc:many', predicate: 'tls', value: 'b', source: 'w:b'}]
    for (let d = 0; d < 64; d++) {
      const day = (n: number) => new Date(Date.UTC(2020, 0, 1 + n)).toISOString().slice(0, 10)
      facts.push({subject: 'svc:many', predicate: 'tls', value: 'a', source: `day:${d}`, valid: {from: day(d), to: day(d + 1)}} as (typeof facts)[number])
    }
    facts.push({subject: 'svc:two', predicate: 'tls', value: 'x', source: 's:1'}, {subject: 'svc:two', predicate: 'tls', value: 'y', source: 's:2'})
    const r = await steme(c, ['ingest', '-', '--format', 'ndjson'], facts.map((f) => JSON.stringify(f)).join('\n') + '\n')
    expect(r.code, r.stderr).toBe(0)
  }, 120_000)
  afterAll(() => rmSync(c.dir, {recursive: true, force: true}))

  /** The rows of `conflicts --json` and the table's lines, with and without --limit, through `via` (a daemon's flags, or none). */
  const listings = async (via: string[]) => {
    const out: Array<{rows: Row[]; lines: string[]}> = []
    for (const limit of [[], ['--limit', '5']]) {
      const j = await steme(c, ['conflicts', ...limit, ...via, '--json'])
      expect(j.code, j.stderr).toBe(0)
      const t = await steme(c, ['conflicts', ...limit, ...via])
      expect(t.code, t.stderr).toBe(0)
      out.push({rows: (JSON.parse(j.stdout) as {conflicts: Row[]}).conflicts, lines: t.stdout.trimEnd().split('\n')})
    }
    return out
  }
  const expectMarked = (got: Array<{rows: Row[]; lines: string[]}>) => {
    for (const {rows, lines} of got) {
      expect(rows.map((r) => [r.subject, r.cappedStretches])).toEqual([
        ['svc:two', undefined],
        ['svc:many', 66],
      ])
      expect(lines.find((l) => l.startsWith('svc:many'))).toMatch(/ 0\.03\* /)
      expect(lines.find((l) => l.startsWith('svc:two'))).toMatch(/ 1\.00 /)
      expect(lines.at(-1)).toContain(NOTE)
    }
  }

  it('conflicts marks the capped pair: cappedStretches in --json, * and a footnote in the table', async () => {
    expectMarked(await listings([]))
    // query --json says it on the resolution too.
    const q = (await jsonIn(c, 'query', 'svc:many', 'tls', '--lens', 'consensus')).resolutions[0]
    expect(q.cappedStretches).toBe(66)
    // No row past the cap listed: no mark, no footnote.
    const few = await steme(c, ['conflicts', '--min-score', '0.5'])
    expect(few.stdout).toContain('svc:two')
    expect(few.stdout).not.toContain('*')
  })

  it('through a daemon (--remote, GET /v1/conflicts) the rows say it the same', async () => {
    const d = await startDaemon(c)
    try {
      const res = await fetch(`${d.url}/v1/conflicts`, {headers: {authorization: `Bearer ${d.token}`}})
      expect(res.status).toBe(200)
      const page = (await res.json()) as {conflicts: Row[]}
      expect(page.conflicts.map((r) => [r.subject, r.cappedStretches])).toEqual([
        ['svc:two', undefined],
        ['svc:many', 66],
      ])
      expectMarked(await listings(['--remote', d.url, '--token', d.token]))
    } finally {
      await d.stop()
    }
  }, 60_000)
})

async function jsonIn(env: Env, ...args: string[]) {
  const r = await steme(env, [...args, '--json'])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout)
}

describe('the conflict score without a date, at a date before the superseding assertion held', () => {
  it('scores the date with the assertion it replaced, in query, skeptic and conflicts', () => {
    // Scan a says TLS 1.2, scan b says 1.3. From 2026 a's 1.2 is replaced by a record about the
    // edge proxy (valid from 2026): --valid-at 2025 still finds both, 1.2 against 1.3.
    const sb = sandbox('steme-dateless-superseded-')
    try {
      expect(sb.run(['init']).code).toBe(0)
      const old = sb.json<{id: string}>(['assert', 'svc:api', 'tls', '"1.2"', '--source', 'scan:a']).id
      sb.json(['assert', 'svc:api', 'tls', '"1.3"', '--source', 'scan:b'])
      sb.json(['assert', 'svc:edge', 'tls', '"1.3"', '--source', 'scan:a', '--valid-from', '2026-01-01', '--supersedes', old])
      type Answer = {resolutions: Array<{conflict: number; status: string; winner?: {value: unknown}; candidates: Array<{value: unknown}>; explanation: string[]}>}
      const query = (...more: string[]) => sb.json<Answer>(['query', 'svc:api', 'tls', '--lens', 'consensus', ...more]).resolutions[0]
      expect(query('--valid-at', '2025-06-01').conflict).toBe(1)
      expect(query('--valid-at', '2026-06-01')).toMatchObject({conflict: 0, winner: {value: '1.3'}})
      // Without a date: the 2025 score, though over all dates 1.2 stays set aside and 1.3 wins alone.
      const undated = query()
      expect(undated).toMatchObject({conflict: 1, winner: {value: '1.3'}})
      expect(undated.candidates.map((c) => c.value)).toEqual(['1.3'])
      expect(undated.explanation).toContain(
        'conflict 1 is the highest at any one date: before 2026-01-01 (--valid-at 2025-12-31 gives it), the one stretch of time in which two values hold; 1 superseded candidate counts there, as what supersedes it does not hold then',
      )
      const human = sb.run(['query', 'svc:api', 'tls', '--lens', 'consensus', '--explain'])
      expect(human.code, human.stderr).toBe(0)
      expect(human.stdout).toContain('--valid-at 2025-12-31 gives it')
      expect(undated).toMatchObject({conflictAt: '2025-12-31'})
      // Its table says the 1 is that date's, beside the one value over all dates; skeptic's "contested" too.
      for (const lens of ['consensus', 'skeptic']) {
        const plain = sb.run(['query', 'svc:api', 'tls', '--lens', lens])
        expect(plain.stdout).toMatch(/tls +\S.* 1\.00† +1\n/)
        expect(plain.stdout).toContain('† tls: the conflict is that of 2025-12-31 (--valid-at 2025-12-31 gives its camps), when a value since superseded (or of another epoch) still held; VALUES and the answer are over all dates')
      }
      expect(sb.run(['query', 'svc:api', 'tls', '--lens', 'consensus', '--valid-at', '2025-12-31']).stdout).not.toContain('†')
      // skeptic holds that score against its threshold; conflicts ranks the pair by it.
      expect(sb.json<Answer>(['query', 'svc:api', 'tls', '--lens', 'skeptic']).resolutions[0].status).toBe('contested')
      const c = sb.json<{conflicts: Array<{subject: string; conflict: number; conflictAt?: string; values: number}>}>(['conflicts'])
      expect(c.conflicts.map((r) => [r.subject, r.conflict])).toEqual([['svc:api', 1]])
      expect(sb.json<{conflicts: unknown[]}>(['conflicts', '--valid-at', '2026-06-01']).conflicts).toEqual([])
      // The row lists one value (the answer over all dates): it names the date that gives 1, and
      // the table marks the score and says why, with and without --limit.
      expect(c.conflicts[0]).toMatchObject({values: 1, conflictAt: '2025-12-31'})
      for (const limit of [[], ['--limit', '3']]) {
        const table = sb.run(['conflicts', ...limit])
        expect(table.code, table.stderr).toBe(0)
        const lines = table.stdout.trimEnd().split('\n')
        expect(lines.find((l) => l.startsWith('svc:api'))).toMatch(/ 1\.00† +1 /)
        expect(lines.at(-1)).toContain('† the score is that of a date when a value since superseded (or of another epoch) still held; VALUES, WINNER and CAMPS are the answer over all dates')
      }
      // At the date, both values are listed, with no mark.
      const at = sb.run(['conflicts', '--valid-at', '2025-12-31'])
      expect(at.stdout).toMatch(/svc:api +tls +1\.00 +2 /)
      expect(at.stdout).not.toContain('†')
    } finally {
      sb.cleanup()
    }
  }, 60_000)
})
