import {describe, expect, it} from 'vitest'
import type {Observation} from '../../src/claims/observation.js'
import {parseClaims} from '../../src/claims/parse.js'
import {testPatterns} from '../../src/claims/pattern-tests.js'
import {scan, type ScanJob, type ScanOutcome, type Scanner} from '../../src/claims/regex-scan.js'
import {decide} from '../../src/claims/verdict.js'
import type {Json} from '../../src/core/record.js'
import {claim as claimToml} from './helpers.js'

const matches = (id: string, pattern: string) => parseClaims(claimToml(id, 's', id, `expect = ${JSON.stringify(pattern)}\ncompare = "matches"`), 'claims.toml').claims[0]
const seen = (...values: Json[]): Observation[] => values.map((value, i) => ({subject: 's', predicate: 'p', value, file: 'v.txt', line: i + 1, via: 'extract#1'}))

/** A scanner whose worker runs over the budget on texts holding "!", and stops the rest of that job's group, as the real one does. */
function fakeScanner(ran: ScanJob[][]): Scanner {
  return {
    async run(jobs, group) {
      ran.push([...jobs])
      const stopped = new Set<number>()
      return jobs.map((job, i): ScanOutcome => {
        if (stopped.has(group(i)) || job.text.includes('!')) return stopped.add(group(i)), {timedOut: true}
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
    const tests = await testPatterns([{claim: slow, observed: seen('aaa', 'aab', 'aaa')}, {claim: literal, observed: seen('gcr.io/x')}], 300, () => fakeScanner(ran))
    expect(ran).toEqual([[expect.objectContaining({source: '^(a+)+$', text: 'aaa', once: true}), expect.objectContaining({text: 'aab'})]])
    expect(tests.get('slow')).toEqual({matched: new Map([['aaa', true], ['aab', false]])})
    expect(tests.has('literal')).toBe(false)
    expect(decide(slow, seen('aaa', 'aab', 'aaa'), 'files', {tests: tests.get('slow')})).toMatchObject({status: 'CONFLICT', failures: [{value: 'aab', line: 2}]})
  })

  it('starts no scanner when no pattern could backtrack', async () => {
    const tests = await testPatterns([{claim: matches('literal', '^gcr\\.io/'), observed: seen('gcr.io/x')}], 300, () => {
      throw new Error('no scanner wanted')
    })
    expect(tests.size).toBe(0)
  })

  it('makes a claim whose pattern ran over the budget UNCHECKED, naming the pattern, the value and the budget', async () => {
    const slow = matches('slow', '^(a+)+$')
    const observed = seen('aaa', 'a'.repeat(40) + '!', 'aaaa')
    const tests = await testPatterns([{claim: slow, observed}], 300, () => fakeScanner([]))
    const v = decide(slow, observed, 'files', {tests: tests.get('slow')})
    expect(v).toMatchObject({status: 'UNCHECKED', unchecked: {by: 'expect', file: 'v.txt', cause: 'timeout'}})
    expect(v.message).toBe('s slow: could not be checked: its pattern /^(a+)+$/ ran over the 300 ms budget on the value observed at v.txt:2 and was stopped; raise settings.regex_timeout_ms or make the pattern cheaper')
  })

  it('keeps a CONFLICT found on a value tested before the pattern was stopped', async () => {
    const slow = matches('slow', '^(a+)+$')
    const observed = seen('aab', 'a'.repeat(40) + '!')
    const tests = await testPatterns([{claim: slow, observed}], 300, () => fakeScanner([]))
    expect(decide(slow, observed, 'files', {tests: tests.get('slow')})).toMatchObject({status: 'CONFLICT', failures: [{value: 'aab'}]})
  })

  it('a test stops at the first match', () => {
    expect(scan({source: 'a', flags: 'g', count: true, once: true, text: 'a\na\na'})).toEqual({n: 1, first: 1, values: []})
  })
})
