import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {scanJson} from '../../src/core/json-scan.js'

/** What scanJson must say of one number, by its definition: JSON's text of the value read, against the text typed. */
function expected(typed: string): ReturnType<typeof scanJson> {
  const v = Number(typed)
  const read = JSON.stringify(v)
  if (read === typed) return {}
  // Out of range, an integer past 2^53, or a number other than zero read as 0 (too small for a double).
  const inexact = !Number.isFinite(v) || (/^-?\d+$/.test(typed) && !Number.isSafeInteger(v)) || (v === 0 && /[1-9]/.test(typed.split(/[eE]/)[0]))
  return inexact ? {changed: {typed, ...(Number.isFinite(v) ? {read} : {})}} : {reformed: {typed, read}}
}

const digits = (min: number, max: number) => fc.string({unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max})
/** JSON number texts: short and long, with and without fractions, leading zeros after the point, exponents. */
const numberText = fc
  .tuple(fc.boolean(), fc.oneof(fc.constant('0'), fc.tuple(fc.constantFrom(...'123456789'), digits(0, 18)).map(([a, b]) => a + b)), fc.option(fc.tuple(fc.constantFrom('', '0', '00000', '000000', '0000000'), digits(1, 18)).map(([z, d]) => '.' + z + d)), fc.option(fc.tuple(fc.constantFrom('e', 'E-', 'e+'), fc.integer({min: 0, max: 400})).map(([e, n]) => e + n)))
  .map(([neg, int, frac, exp]) => `${neg ? '-' : ''}${int}${frac ?? ''}${exp ?? ''}`)

describe('scanJson', () => {
  it('says of every number whether JSON would write it otherwise, and how (its shortcuts for short numbers included)', () => {
    fc.assert(
      fc.property(numberText, (typed) => {
        expect(scanJson(`{"v": ${typed}}`)).toEqual(expected(typed))
      }),
      {numRuns: 20000},
    )
    for (const typed of ['0.5', '0.000001', '0.0000001', '-0', '-0.0', '12.50', '123456789012345', '1234567890123456', '9007199254740993', '0.1234567890123456', '1e400', '1e-400', '0.2E-323', '0e-400']) {
      expect(scanJson(`[${typed}]`)).toEqual(expected(typed))
    }
  })

  it('finds a key given twice, escaped or not, and only in one object', () => {
    expect(scanJson('{"a":1,"b":{"a":2},"c":["a",{"a":3}]}')).toEqual({})
    expect(scanJson('{"a":1, "\\u0061" : 2}')).toEqual({key: 'a'})
    expect(scanJson('{"x\\"":1,"x\\\\":2,"x\\"" :3}')).toEqual({key: 'x"'})
    expect(scanJson('{"s":"a\\\\","s":1}')).toEqual({key: 's'})
  })
})
