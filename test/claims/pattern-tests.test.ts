import {describe, expect, it} from 'vitest'
import type {Observation} from '../../src/claims/observation.js'
import {parseClaims} from '../../src/claims/parse.js'
import {testKey, testPatterns, type PatternCache} from '../../src/claims/pattern-tests.js'
import {scan, type ScanJob, type ScanOutcome, type Scanner} from '../../src/claims/regex-scan.js'
import {decide} from '../../src/claims/verdict.js'
import type {Json} from '../../src/core/record.js'
import {claim as claimToml} from './helpers.js'

const matches = (id: string, pattern: string) => parseClaims(claimToml(id, 's', id, `expect = ${JSON.stringify(pattern)}\ncompare = "matches"`), 'claims.toml').claims[0]
const seen = (...values: Json[]): Observation[] => values.map((value, i) => ({subject: 's', predicate: 'p', value, file: 'v.txt', line: i + 1, via: 'extract#1'}))

/**
 * A scanner whose worker runs over the budget on texts holding "!", and stops the rest of that job's
 * group, as the real one does; on texts holding "#" the regex fails (a backtracking stack overflow).
 */
function fakeScanner(ran: ScanJob[][]): Scanner {
  return {
    async run(jobs, group) {
      ran.push([...jobs])
      const stopped = new Set<number>()
      return jobs.map((job, i): ScanOutcome => {
        if (stopped.has(group(i)) || job.text.includes('!')) return stopped.add(group(i)), {timedOut: true}
        if (job.text.includes('#')) return {error: 'Maximum call stack size exceeded'}
        return {hits: scan(job)}
      })
    },
    async close() {},
  }
}

describe('matches patterns under the time budget', () => {
  it('tests the patterns that could backtrack on the scanner, once per distinct value, and leaves literal ones inline', async () => {
    const ran: ScanJob[][] = []
    const slow = matches('slow', '^(a+)+$')
    const literal = matches('literal', '^gcr\\.io/')
    const tests = await testPatterns([{claim: slow, observed: seen('aaa', 'aab', 'aaa')}, {claim: literal, observed: seen('gcr.io/x')}], 300, {start: () => fakeScanner(ran)})
    expect(ran).toEqual([[expect.objectContaining({source: '^(a+)+$', text: 'aaa', once: true}), expect.objectContaining({text: 'aab'})]])
    expect(tests.get('slow')).toEqual({matched: new Map([['aaa', true], ['aab', false]])})
    expect(tests.has('literal')).toBe(false)
    expect(decide(slow, seen('aaa', 'aab', 'aaa'), 'files', {tests: tests.get('slow')})).toMatchObject({status: 'CONFLICT', failures: [{value: 'aab', line: 2}]})
  })

  it('starts no scanner when no pattern could backtrack', async () => {
    const tests = await testPatterns([{claim: matches('literal', '^gcr\\.io/'), observed: seen('gcr.io/x')}], 300, {
      start: () => {
        throw new Error('no scanner wanted')
      },
    })
    expect(tests.size).toBe(0)
  })

  it('makes a claim whose pattern ran over the budget UNCHECKED, naming the pattern, the value and the budget', async () => {
    const slow = matches('slow', '^(a+)+$')
    const observed = seen('aaa', 'a'.repeat(40) + '!', 'aaaa')
    const tests = await testPatterns([{claim: slow, observed}], 300, {start: () => fakeScanner([])})
    const v = decide(slow, observed, 'files', {tests: tests.get('slow')})
    expect(v).toMatchObject({status: 'UNCHECKED', unchecked: {by: 'expect', file: 'v.txt', cause: 'timeout'}})
    expect(v.message).toBe('s slow: could not be checked: its pattern /^(a+)+$/ ran over the 300 ms budget on the value observed at v.txt:2 and was stopped; raise settings.regex_timeout_ms or make the pattern cheaper')
  })

  it('keeps a CONFLICT found on a value tested before the pattern was stopped', async () => {
    const slow = matches('slow', '^(a+)+$')
    const observed = seen('aab', 'a'.repeat(40) + '!')
    const tests = await testPatterns([{claim: slow, observed}], 300, {start: () => fakeScanner([])})
    expect(decide(slow, observed, 'files', {tests: tests.get('slow')})).toMatchObject({status: 'CONFLICT', failures: [{value: 'aab'}]})
  })

  it('a test stops at the first match', () => {
    expect(scan({source: 'a', flags: 'g', count: true, once: true, text: 'a\na\na'})).toEqual({n: 1, first: 1, values: []})
  })
})

/** A PatternCache over a map, as the staged-mode cache keeps it. */
const memoryCache = (entries: Record<string, boolean> = {}): PatternCache & {entries: Map<string, boolean>} => {
  const m = new Map(Object.entries(entries))
  return {entries: m, get: (k) => m.get(k), set: (k, v) => void m.set(k, v)}
}
const key = (source: string, text: string) => testKey({source, flags: 'g', text})
const noScanner = () => {
  throw new Error('no scanner wanted')
}

describe('pattern test outcomes kept across runs', () => {
  it('keeps what the scanner found, matched or not, and answers from it next time without starting a scanner', async () => {
    const slow = matches('slow', '^(a+)+$')
    const cache = memoryCache()
    const first = await testPatterns([{claim: slow, observed: seen('aaa', 'aab')}], 300, {cache, start: () => fakeScanner([])})
    expect(cache.entries).toEqual(new Map([[key('^(a+)+$', 'aaa'), true], [key('^(a+)+$', 'aab'), false]]))
    const again = await testPatterns([{claim: slow, observed: seen('aaa', 'aab')}], 300, {cache, start: noScanner})
    expect(again).toEqual(first)
    expect(decide(slow, seen('aaa', 'aab'), 'files', {tests: again.get('slow')})).toMatchObject({status: 'CONFLICT', failures: [{value: 'aab'}]})
  })

  it('sends only the texts it has no outcome for to the scanner', async () => {
    const ran: ScanJob[][] = []
    const slow = matches('slow', '^(a+)+$')
    const cache = memoryCache({[key('^(a+)+$', 'aaa')]: true})
    const tests = await testPatterns([{claim: slow, observed: seen('aaa', 'aab')}], 300, {cache, start: () => fakeScanner(ran)})
    expect(ran.map((jobs) => jobs.map((j) => j.text))).toEqual([['aab']])
    expect(tests.get('slow')!.matched).toEqual(new Map([['aaa', true], ['aab', false]]))
    expect(cache.entries.get(key('^(a+)+$', 'aab'))).toBe(false)
  })

  it('keeps no outcome of a test that was stopped or failed, so the claim is tried again next run', async () => {
    const slow = matches('slow', '^(a+)+$')
    const other = matches('other', '^(b+)+$')
    const runaway = 'a'.repeat(40) + '!'
    const cache = memoryCache()
    const cases = [{claim: slow, observed: seen('aaa', runaway, 'aaaa')}, {claim: other, observed: seen('bb', 'b#')}]
    const tests = await testPatterns(cases, 300, {cache, start: () => fakeScanner([])})
    expect(tests.get('slow')!.stopped).toMatchObject({cause: 'timeout'})
    expect(tests.get('other')!.stopped).toMatchObject({cause: 'error'})
    // 'aaaa' was not run at all: its group was stopped.
    expect([...cache.entries.keys()]).toEqual([key('^(a+)+$', 'aaa'), key('^(b+)+$', 'bb')])
    const ran: ScanJob[][] = []
    const again = await testPatterns(cases, 300, {cache, start: () => fakeScanner(ran)})
    expect(ran.map((jobs) => jobs.map((j) => j.text))).toEqual([[runaway, 'aaaa', 'b#']])
    expect(decide(slow, cases[0].observed, 'files', {tests: again.get('slow')})).toMatchObject({status: 'UNCHECKED'})
  })

  it('keys an outcome by the pattern source, its flags and the text', () => {
    const keys = [
      testKey({source: '^a+$', flags: 'g', text: 'aaa'}),
      testKey({source: '^a+$', flags: 'gi', text: 'aaa'}),
      testKey({source: '^A+$', flags: 'g', text: 'aaa'}),
      testKey({source: '^a+$', flags: 'g', text: 'aaA'}),
      // No separator to play with: source and text are quoted apart.
      testKey({source: '^a+$","g', flags: 'g', text: 'aaa'}),
    ]
    expect(new Set(keys).size).toBe(keys.length)
  })

  it('hashes a long text, so the cache stays small, and still tells long texts apart', () => {
    const long = 'a'.repeat(10_000)
    const k = testKey({source: '^a+$', flags: 'g', text: long})
    expect(k.length).toBeLessThan(200)
    expect(k).not.toBe(testKey({source: '^a+$', flags: 'g', text: long + 'b'}))
    expect(k).not.toBe(testKey({source: '^a+$', flags: 'g', text: 'b' + long.slice(1)}))
    expect(testKey({source: '^a+$', flags: 'g', text: 'short'})).toContain('"short"')
  })
})
