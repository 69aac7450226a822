import {describe, expect, it} from 'vitest'
import {canonicalize} from '../../src/core/canonical.js'

describe('RFC 8785 JCS', () => {
  it('§3.2.3 sample: numbers, string escapes and literals', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    )
    expect(canonicalize(input)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}')
  })

  it('§3.2.3 property sorting by UTF-16 code units', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    }
    // (Object.keys would put the integer-like "1" first, so compare the text itself.)
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    )
  })

  it('Appendix B number serialisation', () => {
    const cases: Array<[number, string]> = [
      [0, '0'],
      [-0, '0'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [9007199254740992, '9007199254740992'],
      [1e21, '1e+21'],
      [1e-7, '1e-7'],
      [0.000001, '0.000001'],
      [-1.5, '-1.5'],
    ]
    for (const [n, s] of cases) expect(canonicalize(n), String(n)).toBe(s)
  })

  it('refuses values without a JSON form', () => {
    expect(() => canonicalize(NaN)).toThrow(/no JSON form/)
    expect(() => canonicalize(Infinity)).toThrow(/no JSON form/)
    expect(() => canonicalize(() => 1)).toThrow(/not a JSON value/)
  })

  it('nests and omits undefined members', () => {
    expect(canonicalize({b: [{d: 1, c: undefined, a: 'x'}], a: {}})).toBe('{"a":{},"b":[{"a":"x","d":1}]}')
  })
})
