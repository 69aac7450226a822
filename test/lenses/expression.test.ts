/** The lens expression language: what parses, and errors that quote the input on one line. */
import {describe, expect, it} from 'vitest'
import {UserError} from '../../src/core/errors.js'
import {namesSelf, replaceSelf, typedIndex} from '../../src/lenses/expression.js'
import {compile} from '../../src/lenses/registry.js'

function error(text: string): UserError {
  try {
    compile(text)
  } catch (e) {
    if (e instanceof UserError) return e
    throw e
  }
  throw new Error(`${JSON.stringify(text)} compiled`)
}

describe('lens expressions', () => {
  it('parses filters then a fallback chain with parameters', () => {
    const expr = compile('epoch:current, min-confidence:0.5, then skeptic(threshold=0.3), else recency')
    expect(expr.filters).toEqual([
      {filter: 'epoch', arg: 'current'},
      {filter: 'min-confidence', arg: '0.5'},
    ])
    expect(expr.chain).toEqual([
      {lens: 'skeptic', params: {threshold: '0.3'}},
      {lens: 'recency', params: {}},
    ])
  })

  it.each([
    ['nonesuch', /unknown lens "nonesuch" in lens expression "nonesuch"/],
    ['trust, recency', /lens "recency" follows another lens without "else"/],
    ['trust recency', /expected ",", "then" or "else" before "recency" at column 7/],
    ['recency, epoch:current', /filter "epoch:current" comes after a lens/],
    ['epoch:current', /has filters but no lens/],
    ['min-confidence:2, then recency', /min-confidence:2: the threshold must be a number in \[0, 1\]/],
    ['skeptic(threshold=', /expected a value for threshold/],
    // The filter whose argument is wrong is named: a query may carry a date elsewhere too (as-of, valid-at).
    ['until:garbage, then recency', /^the lens filter until: "garbage" is neither a date nor an HLC stamp/],
    ['since:2026-13-01, then recency', /^the lens filter since: "2026-13-01" is neither a date nor an HLC stamp/],
  ])('refuses %j, saying why', (text, why) => {
    expect(error(text).message).toMatch(why)
  })

  it.each(['rec\ncy', 'epoch:current\n', 'min-confidence:"0.\n5", then recency', 'recency(\n', 'bad\r\nlens', '"open\n'])(
    'quotes an expression holding a line break on one line: %j',
    (text) => {
      const e = error(text)
      expect(e.message).not.toMatch(/[\r\n]/)
      expect(e.hint ?? '').not.toMatch(/[\r\n]/)
      expect(e.message).toContain(JSON.stringify(text).slice(1, -1).slice(0, 8))
    },
  )
})

describe('self in an expression, replaced by an agent key (what a client sends a daemon)', () => {
  const key = 'ab'.repeat(32)
  it.each([
    ['agent:self, then recency', `agent:${key}, then recency`],
    ['agent:"self", consensus', `agent:"${key}", consensus`],
    ['authority(order="fda:* self|who:*")', `authority(order="fda:* agent:${key}|who:*")`],
    ['authority(order=self) else recency', `authority(order=agent:${key}) else recency`],
    ['source:fda:*, authority(order="a\\"b; self")', `source:fda:*, authority(order="a\\"b; agent:${key}")`],
  ])('%s', (text, sent) => {
    expect(namesSelf(text)).toBe(true)
    expect(replaceSelf(text, key)).toBe(sent)
    // Still an expression, and self is gone from it.
    expect(namesSelf(compile(replaceSelf(text, key)).text)).toBe(false)
  })
  it.each(['recency', 'source:self-*, recency', 'agent:selfish, recency', 'authority(order="myself")', 'skeptic(threshold=0.3)', '"open'])('%s names no self and is sent as written', (text) => {
    expect(namesSelf(text)).toBe(false)
  })
  it('maps a position in the text sent back into the text as written', () => {
    const text = 'agent:self, then authority(order="a self"), else recency('
    const sent = replaceSelf(text, key)
    // Before, inside and after each name of self.
    expect(typedIndex(text, key, 0)).toBe(0)
    expect(typedIndex(text, key, sent.indexOf(key))).toBe(0)
    expect(typedIndex(text, key, sent.indexOf(', then'))).toBe(text.indexOf(', then'))
    expect(typedIndex(text, key, sent.lastIndexOf(key) + 3)).toBe(text.indexOf('"a self"'))
    expect(typedIndex(text, key, sent.indexOf(', else'))).toBe(text.indexOf(', else'))
    expect(typedIndex(text, key, sent.length)).toBe(text.length)
  })
})
