/** How `steme assert` (and CSV cells) read a value and names: JSON when a record can hold it as typed, else the text. */
import {describe, expect, it} from 'vitest'
import {UserError} from '../../src/core/errors.js'
import {inexactNumber, parseTypedValue, parseValue, typedName} from '../../src/ops/assert.js'
import {sameLookingNotes} from '../../src/ops/log.js'

function refusal(f: () => unknown): {message: string; hint?: string; exit: number} {
  try {
    f()
  } catch (e) {
    if (e instanceof UserError) return {message: e.message, hint: e.hint, exit: e.exit}
    throw e
  }
  throw new Error('not refused')
}

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
    for (const text of ['12345678901234567890', '-9007199254740993', '9007199254740992', '1e400', '-1e999', '1e-400', '-2E-324', '0.0001e-330']) {
      expect(inexactNumber(text)).toBe(true)
      expect(parseValue(text)).toBe(text)
    }
    for (const text of ['9007199254740991', '0.1', '1e21', 'abc', '[1]', '0', '-0', '0.000', '0e-400', '5e-324']) expect(inexactNumber(text)).toBe(false)
  })
})

describe('parseTypedValue (steme assert)', () => {
  it('reads JSON and plain text as parseValue does, with no notes', () => {
    for (const [text, value] of [['0.002', 0.002], ['true', true], ['Bayer', 'Bayer'], ['{"a":[1,null]}', {a: [1, null]}], ['"1.10"', '1.10'], [' [1, 2] ', [1, 2]], ['tru', 'tru'], ['1.2.3', '1.2.3']] as const) {
      expect(parseTypedValue(text)).toEqual({value, notes: []})
    }
  })

  it('stores a number as the number it is, saying when its JSON form differs from the text typed', () => {
    expect(parseTypedValue('1.10')).toEqual({value: 1.1, notes: ['1.10 was stored as the number 1.1, its JSON form; to keep the text as typed, pass --string']})
    expect(parseTypedValue('1e5')).toMatchObject({value: 100000, notes: [expect.stringContaining('stored as the number 100000')]})
    expect(parseTypedValue('-0').value).toBe(0)
    expect(Object.is(parseTypedValue('-0').value, -0)).toBe(false)
  })

  it('keeps a number that would change value (past 2^53, out of range) as the text typed', () => {
    expect(parseTypedValue('12345678901234567890')).toEqual({value: '12345678901234567890', notes: ['12345678901234567890 was stored as the text "12345678901234567890": as a JSON number it would be rounded to 12345678901234567000']})
    expect(parseTypedValue('1e400')).toMatchObject({value: '1e400', notes: [expect.stringMatching(/out of range$/)]})
    // Too small for a double: as a number it would be 0, another value.
    expect(parseTypedValue('1e-400')).toEqual({value: '1e-400', notes: ['1e-400 was stored as the text "1e-400": as a JSON number it would be rounded to 0']})
  })

  it('refuses a key given twice, at any depth, naming it', () => {
    expect(refusal(() => parseTypedValue('{"a":1,"a":2}'))).toMatchObject({message: 'value: the key "a" appears twice in one object; JSON keeps only the last, silently', exit: 2})
    expect(refusal(() => parseTypedValue('[{"x": {"k": 1, "\\u006b" : 2}}]')).message).toContain('the key "k" appears twice')
    // The same key in two objects, and a string value equal to a key, are fine.
    expect(parseTypedValue('{"a":{"b":1},"b":{"b":"a"}}').value).toEqual({a: {b: 1}, b: {b: 'a'}})
  })

  it('refuses a number inside an array or object that would change value, and notes one that only changes form', () => {
    expect(refusal(() => parseTypedValue('[1.10, 12345678901234567890]'))).toMatchObject({message: 'value: the number 12345678901234567890 in it would be rounded to 12345678901234567000', hint: 'write it as a string ("12345678901234567890") to keep it as typed'})
    expect(refusal(() => parseTypedValue('{"x": -1e999}')).message).toBe('value: the number -1e999 in it is out of range')
    expect(refusal(() => parseTypedValue('[1e-400]')).message).toBe('value: the number 1e-400 in it would be rounded to 0')
    expect(parseTypedValue('{"mg": 2.50}')).toEqual({value: {mg: 2.5}, notes: ['the number 2.50 in it was stored as 2.5, its JSON form; to keep the text as typed, pass --string']})
    expect(parseTypedValue('{"v":"1.10","n":[1.5,-2,3e-7]}')).toEqual({value: {v: '1.10', n: [1.5, -2, 3e-7]}, notes: []})
  })

  it('refuses text that starts like JSON but is not JSON, saying where and how to store it as a string', () => {
    for (const [text, where] of [['[1,2', /after array element in JSON at position 4/], ['"unterminated', /Unterminated string/], ['{"a":', /Unexpected end of JSON input/], ['  {a:1}', /position/]] as const) {
      const r = refusal(() => parseTypedValue(text))
      expect(r.exit).toBe(2)
      expect(r.message).toMatch(/starts like JSON but is not JSON/)
      expect(r.message).toMatch(where)
      expect(r.hint).toContain('--string')
    }
  })

  it('refuses null, saying it is not a value a record can hold and what to do', () => {
    const r = refusal(() => parseTypedValue('null'))
    expect(r.message).toMatch(/^value null: a steme record cannot hold null/)
    expect(r.hint).toMatch(/--string.*retract/)
    expect(parseTypedValue('[null]').value).toEqual([null])
  })
})

describe('typedName (steme assert)', () => {
  it('stores NFC, with a note only when that changed the text', () => {
    expect(typedName('subject', 'drug:café')).toEqual({text: 'drug:café'})
    const nfd = typedName('subject', 'drug:cafe\u0301')
    expect(nfd.text).toBe('drug:caf\u00e9')
    expect(nfd.note).toMatch(/^subject was stored as "drug:café" in Unicode NFC/)
  })

  it('refuses control characters and bidi overrides, saying which and where', () => {
    expect(refusal(() => typedName('subject', 'esc2:\x1b[2Jx'))).toMatchObject({message: expect.stringMatching(/^subject holds a control character \(\\u001b at character 6\)/), exit: 2})
    expect(refusal(() => typedName('predicate', 'a\tb')).message).toContain('(\\t at character 2)')
    expect(refusal(() => typedName('source', 'x\u202e')).message).toContain('\\u202e')
  })
})

describe('sameLookingNotes', () => {
  it('names the other Unicode form of a subject when it has records, and how to type it', async () => {
    const stored = new Set(['drug:cafe\u0301'])
    const has = async (s: string) => stored.has(s)
    const notes = await sameLookingNotes('drug:caf\u00e9', has)
    expect(notes).toHaveLength(1)
    expect(notes[0]).toContain('Unicode NFD')
    expect(notes[0]).toContain("$'drug:cafe\\u0301'")
    expect(await sameLookingNotes('drug:cafe\u0301', has)).toEqual([])
    expect(await sameLookingNotes('plain', async () => true)).toEqual([])
  })
})
