/**
 * A subject flooded with values of their own (anyone can sign records and sync them in), queried
 * through bin/run.js on a DuckDB store with the reliability lens: it answers, trained across the
 * store and untrained, and says its sums were sparse past the bound (needs `npm run build`).
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {initHash} from '../../src/core/hash.js'
import {EXACT_ELEMENTS} from '../../src/lenses/truth-discovery.js'
import {sandbox, type Sandbox} from '../helpers/cli.js'
import {assertion, stamp, testKey} from '../helpers/records.js'

const FLOOD = 3000

describe('reliability on a subject where every witness names a value of its own', () => {
  let sb: Sandbox
  beforeAll(async () => {
    await initHash()
    sb = sandbox('steme-reliability-distinct-')
    expect(sb.run(['init', '--dir', sb.dir]).code).toBe(0)
    const lines: string[] = []
    const key = testKey(9)
    for (let i = 0; i < FLOOD; i++) lines.push(JSON.stringify(assertion({subject: 'book:1', predicate: 'authors', value: `name ${i}`, source: `feed:${i}`, hlc: stamp(1_700_000_000_000 + i)}, key).record))
    // Three witnesses agree, on this subject and on an ordinary one.
    for (const [k, subject] of ['book:1', 'book:2'].entries()) for (let w = 0; w < 3; w++) lines.push(JSON.stringify(assertion({subject, predicate: 'authors', value: ['Knuth'], source: `shop:${w}`, hlc: stamp(1_700_000_100_000 + k * 10 + w)}, key).record))
    writeFileSync(join(sb.dir, 'flood.ndjson'), lines.join('\n') + '\n')
    expect(sb.run(['ingest', 'flood.ndjson']).code).toBe(0)
  }, 120_000)
  afterAll(() => sb.cleanup())

  it('answers, an even split no one value of the flood wins outright, and explains the sparse sums', () => {
    const r = sb.json<{resolutions: Array<{winner: {value: unknown; probability: number}; explanation: string[]; candidates: Array<{value: unknown; probability: number}>}>}>(['query', 'book:1', 'authors', '--lens', 'reliability', '--explain'])
    const res = r.resolutions[0]
    // 3,000 witnesses each leave Knuth out, and each of their values is left out by all the others:
    // the model believes no element, so every value is as likely as any other (the winner is the
    // tie-break), Knuth included. The same as with the exact sums, which differed only in the last bits.
    expect(res.candidates).toHaveLength(FLOOD + 1)
    for (const c of res.candidates) expect(c.probability).toBeCloseTo(1 / (FLOOD + 1), 12)
    expect(res.candidates.some((c) => JSON.stringify(c.value) === '["Knuth"]')).toBe(true)
    expect(res.explanation.join('\n')).toContain(`${FLOOD + 1} elements are named on this subject, more than ${EXACT_ELEMENTS}: the lens sums each witness's evidence once rather than per element, so probabilities are exact only up to rounding`)
    // An ordinary subject of the same predicate is summed exactly, and says nothing of it.
    const ordinary = sb.json<{resolutions: Array<{winner: {value: unknown}; explanation: string[]}>}>(['query', 'book:2', 'authors', '--lens', 'reliability', '--explain']).resolutions[0]
    expect(ordinary.winner.value).toEqual(['Knuth'])
    expect(ordinary.explanation.join('\n')).not.toContain(`more than ${EXACT_ELEMENTS}`)
  }, 120_000)
})
