/** The check of a row's stored text as reads make it: every record steme writes passes; text damaged into JSON that lacks what its kind has does not. */
import {beforeAll, describe, expect, it} from 'vitest'
import {initHash} from '../../src/core/hash.js'
import {decodeStored, parseStored, DamagedRecordError} from '../../src/core/stored.js'
import {assertion, record} from '../helpers/records.js'

beforeAll(async () => {
  await initHash()
})

const target = 'ab'.repeat(32)

describe('decodeStored', () => {
  it('takes the stored text of a record of every kind, with and without its optional fields', () => {
    const sound = [
      assertion(),
      assertion({source: 'doc:1', epoch: 'e1', evidence: [target], supersedes: [target], valid: {from: '2026-01-01'}}),
      record({kind: 'vote', target, weight: 1}),
      record({kind: 'retract', target}),
      record({kind: 'retract', source: 'doc:1', reason: 'wrong'}),
      record({kind: 'epoch', name: 'e1', starts: '2026-01-01'}),
      record({kind: 'trust', target, weight: 0.5}),
    ]
    for (const s of sound) {
      const d = decodeStored(s.canonical)
      expect(d.problem, s.canonical).toBeUndefined()
      expect(d.record).toEqual(JSON.parse(s.canonical))
    }
  })

  it('names the first field a damaged text lacks, or holds as the wrong type', () => {
    const a = JSON.parse(assertion({evidence: [target]}).canonical) as Record<string, unknown>
    const cases: Array<[Record<string, unknown>, string]> = [
      [{kind: 'assertion'}, 'agent missing'],
      [{...a, hlc: 5}, 'hlc is number, not text'],
      [{...a, subject: undefined}, 'subject missing'],
      [{...a, predicate: null}, 'predicate is null, not text'],
      [{...a, value: undefined}, 'value missing'],
      [{...a, confidence: '1'}, 'confidence is string, not number'],
      [{...a, evidence: target}, 'evidence is string, not an array'],
      [{...a, source: ['x']}, 'source is an array, not text'],
      [{kind: 'vote', agent: 'a', hlc: 'h', target, weight: 'up'}, 'weight is string, not number'],
      [{kind: 'trust', agent: 'a', hlc: 'h', weight: 1}, 'target missing'],
      [{kind: 'epoch', agent: 'a', hlc: 'h', name: 'e'}, 'starts missing'],
      [{kind: 'retract', agent: 'a', hlc: 'h', target: 7}, 'target is number, not text'],
    ]
    for (const [value, what] of cases) {
      const text = JSON.stringify(value)
      expect(decodeStored(text).problem, text).toMatch(new RegExp(`^its stored text is no whole ${value.kind} record \\(${what.replace(/[()]/g, '\\$&')}\\): "`))
      expect(() => parseStored(text, target)).toThrow(DamagedRecordError)
    }
  })
})
