/** A daemon's answer to a lens the CLI put the caller's key in for: the user's words for self put back, nothing else touched. */
import {describe, expect, it} from 'vitest'
import {UserError} from '../../src/core/errors.js'
import {replaceSelf} from '../../src/lenses/expression.js'
import type {QueryResult} from '../../src/ops/query.js'
import {SelfWords} from '../../src/serve/self-words.js'

const key = 'ab'.repeat(32)
const typed = 'agent:self, then authority(order="x:* self"), else recency'
const sent = replaceSelf(typed, key)
const words = new SelfWords(key, [{typed, sent}])

describe('SelfWords', () => {
  it('puts self back in what a lens echoes: its text, a filter, an authority order', () => {
    expect(words.text(sent)).toBe(typed)
    expect(words.text(`filter agent:${key} kept 2 of 3`)).toBe('filter agent:self kept 2 of 3')
    expect(words.text(`"v" comes from agent ${key.slice(0, 12)}, which matches authority rank 2 ("agent:${key}")`)).toBe(`"v" comes from agent ${key.slice(0, 12)} (self), which matches authority rank 2 ("self")`)
    expect(words.text(`no candidate matches the authority order (x:*, agent:${key})`)).toBe('no candidate matches the authority order (x:*, self)')
  })

  it('leaves values and record fields alone, whatever text they hold', () => {
    const res = {
      subject: 's',
      lens: sent,
      resolutions: [{lens: sent, subject: 's', predicate: 'p', status: 'resolved', winner: {key: `"agent:${key}"`, value: `agent:${key}`}, candidates: [], conflict: 0, explanation: [`filter agent:${key} kept 1 of 1`]}],
      candidates: [{id: 'i', predicate: 'p', agent: key, hlc: 'h', value: `agent:${key}`, confidence: 1, state: 'live'}],
    } as unknown as QueryResult
    const shown = words.query(res)
    expect(shown.lens).toBe(typed)
    expect(shown.resolutions[0]).toMatchObject({lens: typed, explanation: ['filter agent:self kept 1 of 1'], winner: {value: `agent:${key}`}})
    expect(shown.candidates).toEqual(res.candidates)
  })

  it("rewrites a daemon's error, its column moved into the text typed, its code, exit and hint kept", () => {
    const bad = 'agent:self, then recency('
    const w = new SelfWords(key, [{typed: bad, sent: replaceSelf(bad, key)}])
    const e = w.error(new UserError(`malformed lens expression ${JSON.stringify(replaceSelf(bad, key))}: expected a parameter name in recency(...) at column ${replaceSelf(bad, key).length + 1} (from http://d)`, {code: 'usage', exit: 2, hint: 'h'}))
    expect(e).toBeInstanceOf(UserError)
    expect(e).toMatchObject({message: `malformed lens expression ${JSON.stringify(bad)}: expected a parameter name in recency(...) at column ${bad.length + 1} (from http://d)`, code: 'usage', exit: 2, hint: 'h'})
    const other = new Error('not a user error')
    expect(w.error(other)).toBe(other)
  })
})
