/** Explanations name the real reason: the record a score comes from is the winner's own, every tied value is named. */
import {describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import type {Sealed} from '../../src/core/seal.js'
import {candidateState, queryOp} from '../../src/ops/query.js'
import type {Assertion, Retract} from '../../src/core/record.js'
import {assertion, record, stamp, testKey} from '../helpers/records.js'

const WALL = 1_700_000_000_000
const query = async (records: Sealed[], lens: string) => {
  const store = new MemoryStore()
  await store.insert(records)
  return (await queryOp({store, config: DEFAULT_CONFIG}, {subject: 's:x', predicate: 'p', lens, now: WALL + 1e9})).resolutions[0]
}
const at = (n: number) => stamp(WALL + n * 1000, 0)

describe('confidence', () => {
  it('cites an assertion of the winning value, also when another value holds the smaller id at the same confidence', async () => {
    // x at 1 and y at 1 tie; x also has a 0.2 assertion. Find stamps (deterministic keys and
    // times) where y's confident assertion has a smaller id than x's, while x's weak one has the
    // smallest id of all, so x wins the tie-break: the sentence used to cite y's id for x.
    let found: Sealed[] | undefined
    for (let s = 0; s < 500 && !found; s++) {
      const xs = assertion({subject: 's:x', predicate: 'p', value: 'x', confidence: 1, hlc: at(s * 10 + 1)}, testKey(2))
      const ys = assertion({subject: 's:x', predicate: 'p', value: 'y', confidence: 1, hlc: at(s * 10 + 2)}, testKey(3))
      const xw = assertion({subject: 's:x', predicate: 'p', value: 'x', confidence: 0.2, hlc: at(s * 10 + 3)}, testKey(4))
      if (ys.record.id < xs.record.id && xw.record.id < ys.record.id) found = [xs, ys, xw]
    }
    expect(found, 'such stamps exist among the first 500').toBeDefined()
    const [xs, ys] = found!
    const r = await query(found!, 'confidence')
    expect(r.winner?.value).toBe('x')
    expect(r.explanation[0]).toContain(`(id ${xs.record.id.slice(0, 12)})`)
    expect(r.explanation[0]).not.toContain(ys.record.id.slice(0, 12))
  })
})

describe('--all', () => {
  it('counts the agents behind a value as its witnesses are counted: an agent that has moved on is behind its new value only', async () => {
    const bob = testKey(2)
    const r = await query(
      [
        assertion({subject: 's:x', predicate: 'p', value: 1, hlc: at(1)}, bob),
        assertion({subject: 's:x', predicate: 'p', value: 1, hlc: at(2)}, testKey(3)),
        assertion({subject: 's:x', predicate: 'p', value: 2, hlc: at(3)}, bob),
      ],
      'consensus',
    )
    expect(r.candidates.map((c) => [c.value, c.witnesses, c.agents]).sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [1, 1, 1],
      [2, 1, 1],
    ])
  })
})

describe('trust', () => {
  it('names the agents whose trust carries the winner, most trusted first, and counts those without', async () => {
    const [pre, endorsed, stranger, other] = [2, 3, 4, 5].map((n) => testKey(n))
    const store = new MemoryStore()
    await store.insert([
      record({kind: 'trust', target: endorsed.publicHex, weight: 1, hlc: at(1)}, pre),
      assertion({subject: 's:x', predicate: 'p', value: 'a', hlc: at(2)}, endorsed),
      assertion({subject: 's:x', predicate: 'p', value: 'a', hlc: at(3)}, pre),
      assertion({subject: 's:x', predicate: 'p', value: 'a', hlc: at(4)}, stranger),
      assertion({subject: 's:x', predicate: 'p', value: 'b', hlc: at(5)}, other),
    ])
    const config = {...DEFAULT_CONFIG, pretrusted: [pre.publicHex]}
    const r = (await queryOp({store, config}, {subject: 's:x', predicate: 'p', lens: 'trust', now: WALL + 1e9})).resolutions[0]
    expect(r.winner?.value).toBe('a')
    expect(r.explanation).toEqual([
      `"a" has the most trust behind it: 1.850 from 2 agents with trust (${pre.publicHex.slice(0, 12)} at 1, ${endorsed.publicHex.slice(0, 12)} at 0.850; and 1 without); next "b" with 0`,
    ])
  })
})

describe('retractions set aside by the local policy', () => {
  it('are named for the winner and the other candidates, the first few one by one and the rest counted', async () => {
    const author = testKey(2)
    const stranger = testKey(9)
    const asserted = Array.from({length: 8}, (_, i) => assertion({subject: 's:x', predicate: 'p', value: i, source: 'lab:z', hlc: at(i + 1)}, author))
    const r = await query([...asserted, record({kind: 'retract', source: 'lab:z', hlc: at(20)}, stranger)], 'recency')
    expect(r.winner?.value).toBe(7)
    const setAside = r.explanation.filter((l) => l.includes('not retracted'))
    expect(setAside).toHaveLength(5)
    expect(setAside[0]).toMatch(new RegExp(`^the winner 7, assertion ${asserted[7].record.id.slice(0, 12)}, not retracted: [0-9a-f]{12} by agent ${stranger.publicHex.slice(0, 12)} retracts its source "lab:z", but that agent is not trusted here`))
    expect(setAside[1]).toMatch(/^candidate 6, assertion [0-9a-f]{12}, not retracted: /)
    expect(r.explanation.at(-1)).toBe('and 3 more assertions with retractions or supersessions set aside here (`query --all` lists them)')
  })
})

describe('supersessions set aside by the local policy', () => {
  it('are named three at most per assertion, the rest counted, however many agents sign one', async () => {
    const author = testKey(2)
    const old = assertion({subject: 's:x', predicate: 'p', value: 1, hlc: at(1)}, author)
    // Anyone may sign a supersession; none of these agents may supersede another's assertion here.
    const strangers = Array.from({length: 7}, (_, i) => assertion({subject: 's:y', predicate: 'p', value: 2, supersedes: [old.record.id], hlc: at(i + 2)}, testKey(20 + i)))
    const store = new MemoryStore()
    await store.insert([old, ...strangers])
    const res = await queryOp({store, config: DEFAULT_CONFIG}, {subject: 's:x', predicate: 'p', lens: 'recency', now: WALL + 1e9})
    const why = res.candidates.find((c) => c.id === old.record.id)!.why!
    expect(why.filter((l) => l.startsWith('not superseded: '))).toHaveLength(3)
    expect(why.at(-1)).toBe('and 4 more supersessions by agents that may not supersede it here')
  })
})

describe('the state of every candidate', () => {
  it('looks through the retractions and superseders once per query, not once per candidate', async () => {
    const author = testKey(2)
    const n = 300
    const cands = Array.from({length: n}, (_, i) => assertion({subject: 's:x', predicate: 'p', value: i, source: `lab:${i}`, supersedes: ['0'.repeat(63) + (i % 10)], hlc: at(i + 1)}, author).record as Assertion)
    const stranger = testKey(9)
    const retractions = cands.map((a, i) => record({kind: 'retract', ...(i % 2 ? {target: a.id} : {source: a.source}), hlc: at(n + i + 1)}, stranger).record as Retract)
    // Element reads of the two lists, counted.
    let reads = 0
    const counted = <T>(xs: T[]): T[] =>
      new Proxy(xs, {
        get(t, k, r) {
          if (typeof k === 'string' && /^\d+$/.test(k)) reads++
          return Reflect.get(t, k, r)
        },
      })
    const ctx = {now: WALL, votes: [], retracted: new Map(), superseded: new Map(), epochs: [], trust: new Map(), params: {}, policy: {pretrusted: [], scores: new Map()}, retractions: counted(retractions), superseders: counted(cands)}
    const states = cands.map((a) => candidateState(a, ctx))
    // Each candidate names the one retraction of it (or of its source), set aside.
    expect(states.every((s) => s.state === 'live' && s.why?.length === 1 && s.why[0].startsWith('not retracted: '))).toBe(true)
    // A look through both lists per candidate is 2 * 300 * 300 reads; once per query, 600.
    expect(reads).toBeLessThanOrEqual(4 * n)
  })
})

describe('votes', () => {
  it('names three voters per value, ups first and then by key, with their weight, and counts the rest', async () => {
    const a = assertion({subject: 's:x', predicate: 'p', value: 'a', hlc: at(1)}, testKey(1))
    const b = assertion({subject: 's:x', predicate: 'p', value: 'b', hlc: at(2)}, testKey(2))
    const c = assertion({subject: 's:x', predicate: 'p', value: 'b', hlc: at(3)}, testKey(3))
    const ups = [4, 5, 6, 7].map((n) => testKey(n))
    const down = testKey(8)
    const against = testKey(9)
    const votes = [
      ...ups.map((k, i) => record({kind: 'vote', target: a.record.id, weight: 1, hlc: at(10 + i)}, k)),
      record({kind: 'vote', target: a.record.id, weight: -1, hlc: at(20)}, down),
      record({kind: 'vote', target: b.record.id, weight: -1, hlc: at(21)}, against),
    ]
    const r = await query([a, b, c, ...votes], 'votes')
    expect(r.winner?.value).toBe('a')
    const named = ups
      .map((k) => k.publicHex)
      .sort()
      .slice(0, 3)
      .map((h) => `${h.slice(0, 12)} +1`)
      .join(', ')
    expect(r.explanation).toEqual([`"a" scores 4: 1 witness, 4 up and 1 down votes (by ${named}, and 2 more); next "b" scores 1 (votes by ${against.publicHex.slice(0, 12)} -1)`])
  })
})
