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

  it('refuses to order what has no order', () => {
    expect(order({a: 1}, 2)).toBeUndefined()
    expect(check(claim('gte', 2), {a: 1} as Json).reason).toMatch(/cannot order/)
  })
})
