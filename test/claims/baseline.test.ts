import {describe, expect, it} from 'vitest'
import {baselineOf, type Baseline} from '../../src/claims/baseline.js'
import type {Status, Verdict} from '../../src/claims/verdict.js'
import {settle} from '../../src/ops/verify.js'

const verdict = (id: string, status: Status): Verdict =>
  ({id, subject: 's', predicate: id, compare: 'eq', expect: 1, severity: 'error', line: 1, status, source: 'files', observed: [], failures: [], message: `${id} is ${status}`, fails: false}) satisfies Verdict

describe('a baseline and claims that could not be checked', () => {
  it('does not accept an UNCHECKED claim, which then still fails the run', () => {
    const verdicts = [verdict('conflict', 'CONFLICT'), verdict('unchecked', 'UNCHECKED'), verdict('missing', 'MISSING'), verdict('pass', 'PASS')]
    const b = baselineOf(verdicts)
    expect(Object.keys(b.claims)).toEqual(['conflict', 'missing'])
    const {summary} = settle(verdicts, {baseline: b})
    expect(verdicts.map((v) => [v.id, v.baseline, v.fails])).toEqual([
      ['conflict', 'known', false],
      ['unchecked', 'new', true],
      ['missing', 'known', false],
      ['pass', undefined, false],
    ])
    expect(summary).toMatchObject({known: 2, unchecked: 1, failing: 1})
  })

  it('keeps what the previous baseline said of an UNCHECKED claim, neither dropping nor adding to it', () => {
    const previous: Baseline = {version: 1, claims: {unchecked: {status: 'CONFLICT', severity: 'error', message: 'accepted last time'}, gone: {status: 'MISSING', severity: 'error', message: ''}}}
    const verdicts = [verdict('unchecked', 'UNCHECKED'), verdict('gone', 'PASS')]
    const b = baselineOf(verdicts, previous)
    expect(b.claims).toEqual({unchecked: previous.claims.unchecked})
    settle(verdicts, {baseline: b})
    expect(verdicts.map((v) => [v.id, v.baseline, v.fails])).toEqual([
      ['unchecked', 'known', false],
      ['gone', undefined, false],
    ])
  })
})
