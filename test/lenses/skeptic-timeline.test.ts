/** skeptic and timelines: tied values that never hold at once are not rivals, as the conflict score and `steme conflicts` treat them. */
import {describe, expect, it} from 'vitest'
import type {Assertion} from '../../src/core/record.js'
import {compile, resolve} from '../../src/lenses/registry.js'
import type {LensContext} from '../../src/lenses/types.js'
import {assertion} from '../helpers/records.js'

const ctx: LensContext = {now: 1_800_000_000_000, votes: [], retracted: new Map(), superseded: new Map(), epochs: [], trust: new Map(), params: {}}
const say = (value: string, source: string, valid?: {from?: string; to?: string}) => assertion({subject: 'svc:api', predicate: 'tls', value, source, ...(valid ? {valid} : {})}).record as Assertion
const run = (text: string, cands: Assertion[], at?: string) => resolve(compile(text), cands, at === undefined ? ctx : {...ctx, validAt: at})

describe('skeptic on a timeline', () => {
  it('reports a tied timeline as consensus does, a tie with its winner, not a contest', () => {
    const cands = [say('1.2', 'scan:a', {to: '2025-07-01'}), say('1.3', 'scan:b', {from: '2025-07-01'})]
    const s = run('skeptic', cands)
    const c = run('consensus', cands)
    expect(s).toMatchObject({status: 'tie', conflict: 0, winner: {key: c.winner!.key}})
    expect(s.explanation.slice(-2)).toEqual(['the tied values never hold at the same time (a timeline), so they are not rivals', 'conflict 0 is within the threshold 0.500; --valid-at gives the value holding at a date'])
    // A chain goes on past the tie; a date has one answer.
    expect(run('skeptic, else recency', cands)).toMatchObject({status: 'decided', decidedBy: 'recency'})
    expect(run('skeptic', cands, '2025-06-01')).toMatchObject({status: 'decided', winner: {key: '"1.2"'}})
  })

  it('still contests tied values whose ranges overlap, and a timeline whose conflict with a third value exceeds the threshold', () => {
    const overlap = [say('1.2', 'scan:a', {to: '2025-08-01'}), say('1.3', 'scan:b', {from: '2025-07-01'})]
    expect(run('skeptic', overlap)).toMatchObject({status: 'contested', conflict: 1})
    // "1.2" and "1.3" (two witnesses each) never meet, but "1.1" (one witness, always) stands against each: 2:1, 0.667.
    const third = [say('1.2', 'a', {to: '2025-07-01'}), say('1.2', 'b', {to: '2025-07-01'}), say('1.3', 'c', {from: '2025-07-01'}), say('1.3', 'd', {from: '2025-07-01'}), say('1.1', 'e')]
    const contested = run('skeptic', third)
    expect(contested.status).toBe('contested')
    expect(contested.explanation.at(-1)).toMatch(/^no winner: conflict 0\.667 exceeds the threshold 0\.500/)
    const lenient = run('skeptic(threshold=0.7)', third)
    expect(lenient).toMatchObject({status: 'tie', winner: {key: run('consensus', third).winner!.key}})
    expect(lenient.explanation.at(-1)).toContain('conflict 0.667 is within the threshold 0.700')
  })
})
