/** A lens that abstains still ranks every candidate value (DESIGN.md §3), so callers can count and list them. */
import {describe, expect, it} from 'vitest'
import type {Assertion} from '../../src/core/record.js'
import {compile, resolve} from '../../src/lenses/registry.js'
import type {LensContext} from '../../src/lenses/types.js'
import {assertion, testKey} from '../helpers/records.js'

const ctx: LensContext = {now: 1_800_000_000_000, votes: [], retracted: new Map(), superseded: new Map(), epochs: [], trust: new Map(), params: {}}
const cands = [assertion({value: 'red', source: 'a'}, testKey(1)), assertion({value: 'blue', source: 'b'}, testKey(2))].map((s) => s.record as Assertion)

describe('abstaining lenses rank the values they cannot decide between', () => {
  for (const lens of ['epoch', 'authority', 'trust']) {
    it(`${lens} with nothing to go on: abstain, no winner, both values ranked at 0, an even split`, () => {
      const r = resolve(compile(lens), cands, ctx)
      expect(r.status).toBe('abstain')
      expect(r.winner).toBeUndefined()
      expect(r.candidates.map((c) => c.key).sort()).toEqual(['"blue"', '"red"'])
      expect(r.candidates.map((c) => c.score)).toEqual([0, 0])
      expect(r.conflict).toBe(1)
    })
  }
})

describe('a filter naming an epoch no record declares says so', () => {
  const epochs = [{name: 'post-2024', starts: '2024-01-01'}, {name: 'pre-2024', starts: '2020-01-01'}].map((e) => ({...e, kind: 'epoch'}) as unknown as LensContext['epochs'][number])
  it('in the explanation, with the closest declared names', () => {
    const r = resolve(compile('epoch:post2024, then recency'), cands, {...ctx, epochs})
    expect(r.status).toBe('empty')
    expect(r.explanation[0]).toBe('no record declares an epoch named "post2024" (closest known: "post-2024", "pre-2024")')
  })
  it('and nothing when the epoch is declared', () => {
    const r = resolve(compile('epoch:post-2024, then recency'), cands, {...ctx, epochs})
    expect(r.explanation.join(' ')).not.toContain('declares')
  })
})
