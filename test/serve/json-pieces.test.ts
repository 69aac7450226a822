/** The daemon's streamed JSON answers: the bytes JSON.stringify gives, in pieces. */
import {describe, expect, it} from 'vitest'
import {jsonPieces} from '../../src/serve/routes/mounted.js'

describe('jsonPieces', () => {
  const values: unknown[] = [
    {lens: 'consensus', minScore: 0, pairs: 3, conflicts: [{subject: 's', predicate: 'p', conflict: 0.9899999999999999, winner: undefined, top: [{value: '"a"', probability: 1 / 3}]}, {subject: 'é\u0000\u{1F600}', predicate: 'q"\\', conflict: 1e-7}], notes: ['n']},
    {skipped: undefined, f: () => 1, empty: [], holes: [undefined, () => 2, null, Symbol('x')], nested: {a: [1, {b: [2]}]}, n: -0, s: 'x'},
    {},
    {a: []},
    {big: Array.from({length: 5000}, (_, i) => ({i, text: 'x'.repeat(i % 50)}))},
    {when: new Date(0), withToJSON: {toJSON: () => 'shown'}},
    [1, {a: 2}],
    null,
    'text',
    42,
    {toJSON: () => ({replaced: [1, 2]})},
    {gone: {toJSON: () => undefined}, kept: 1, list: Object.assign([1, 2], {toJSON: () => 'as one'})},
  ]
  it('joined, give JSON.stringify of the value, whatever the piece size; an array of many members comes in several pieces', () => {
    for (const v of values) {
      for (const size of [1, 10, 64 * 1024]) expect([...jsonPieces(v, size)].join(''), `${JSON.stringify(v)?.slice(0, 60)} in pieces of ${size}`).toBe(JSON.stringify(v))
    }
    expect([...jsonPieces(values[4], 4096)].length).toBeGreaterThan(20)
  })
})
