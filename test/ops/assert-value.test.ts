/** How `steme assert` (and CSV cells) read a value: JSON when a record can hold it as typed, else the text. */
import {describe, expect, it} from 'vitest'
import {inexactNumber, parseValue} from '../../src/ops/assert.js'

describe('parseValue', () => {
  it('reads JSON, and keeps other text as a string', () => {
    expect(parseValue('0.002')).toBe(0.002)
    expect(parseValue('1.5e3')).toBe(1500)
    expect(parseValue('-9007199254740991')).toBe(-9007199254740991)
    expect(parseValue('{"a":[1,null]}')).toEqual({a: [1, null]})
    expect(parseValue('true')).toBe(true)
    expect(parseValue('Bayer')).toBe('Bayer')
    expect(parseValue('"12345678901234567890"')).toBe('12345678901234567890')
  })

  it('keeps a number JSON would round or overflow as the text typed', () => {
    for (const text of ['12345678901234567890', '-9007199254740993', '9007199254740992', '1e400', '-1e999']) {
      expect(inexactNumber(text)).toBe(true)
      expect(parseValue(text)).toBe(text)
    }
    for (const text of ['9007199254740991', '0.1', '1e21', 'abc', '[1]']) expect(inexactNumber(text)).toBe(false)
  })
})
