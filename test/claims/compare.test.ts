import {describe, expect, it} from 'vitest'
import {check, order} from '../../src/claims/compare.js'
import type {Claim} from '../../src/claims/file.js'
import {parseClaims} from '../../src/claims/parse.js'
import type {Json} from '../../src/core/record.js'

function claim(compare: string, expectValue?: Json): Claim {
  const e = expectValue === undefined ? '' : `expect = ${JSON.stringify(expectValue)}\n`
  return parseClaims(`[[claim]]\nid = "c"\nsubject = "s"\npredicate = "p"\ncompare = "${compare}"\n${e}`, 'c.toml').claims[0]
}

describe('comparisons', () => {
  it.each<[string, Json, Json, boolean]>([
    ['eq', true, true, true],
    ['eq', true, false, false],
    ['eq', 1.3, '1.3', true],
    ['eq', '1.3', 1.3, true],
    ['eq', true, 'true', true],
    ['eq', [1, 2], [1, 2], true],
    ['eq', 'a', 'b', false],
    ['gte', 20, '20.11.1', true],
    ['gte', '20', '18', false],
    ['gte', '20.19', '>=20.19', true],
    ['gte', '1.3', 'v1.10.0', true],
    ['gte', 2, 3, true],
    ['lte', 10000, 3000, true],
    ['lte', 10000, '30000', false],
    ['gte', '20', '^18.18.0 || ^20.9.0', false],
    ['gte', '18', '18.x || 20.x', true],
    ['lte', '2025-01-01', '2024-12-31', true],
    ['gte', '2024-06-01', '2024-01-01', false],
    ['in', ['ES2022', 'ES2023'], 'ES2023', true],
    ['in', ['ES2022', 'ES2023'], 'ES5', false],
    ['matches', '^gcr\\.io/distroless/', 'gcr.io/distroless/nodejs20', true],
    ['matches', '^gcr\\.io/distroless/', 'node:20', false],
    ['absent', undefined as unknown as Json, 'x', false],
    ['present', undefined as unknown as Json, 'x', true],
  ])('%s %j against %j', (compare, expected, observed, ok) => {
    expect(check(claim(compare, expected), observed).ok).toBe(ok)
  })

  it('explains a failure with expected and observed', () => {
    expect(check(claim('gte', '20'), '18').reason).toBe('expected >= "20", observed "18"')
  })

  it.each(['lts/argon', 'lts/*', 'node', 'latest', 'abc', '20abc', '2024-01-01'])('cannot order the non-version %j against a version', (observed) => {
    for (const compare of ['gte', 'lte']) {
      expect(order(observed, '20.19')).toBeUndefined()
      expect(check(claim(compare, '20.19'), observed)).toEqual({ok: false, reason: `cannot order ${JSON.stringify(observed)} against "20.19" (${JSON.stringify(observed)} is not a version)`})
    }
    expect(check(claim('lte', observed), '20.19').ok).toBe(false)
    expect(check(claim('gte', 20), observed).reason).toMatch(/ is not a version\)$/)
  })

  it('refuses to order what has no order', () => {
    expect(order({a: 1}, 2)).toBeUndefined()
    expect(check(claim('gte', 2), {a: 1} as Json).reason).toMatch(/cannot order/)
  })
})
