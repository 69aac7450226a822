/** Pages of the conflicts ranking (conflictsPageOp): every page size gives the whole ranking once, in order, and `next` says exactly when more follow. */
import {beforeAll, describe, expect, it} from 'vitest'
import {MemoryStore} from '../../src/adapters/memory.js'
import {DEFAULT_CONFIG} from '../../src/config.js'
import {initHash} from '../../src/core/hash.js'
import {conflictPositionText, conflictsOp, conflictsPageOp, parseConflictPosition, type ConflictRow, type ConflictsInput} from '../../src/ops/conflicts.js'
import {assertion, stamp, testKey} from '../helpers/records.js'

/** Subjects and predicates a cursor must carry exactly: quotes, a backslash, NUL, accents, an emoji, a slash. */
const SUBJECTS = ['s', 's"q"', 'a\\b', 'café', 'cafe\u0301', '😀', 'x/y', '']
const PREDICATES = ['p', 'r\u0000', 'q/1']

async function store(): Promise<MemoryStore> {
  const s = new MemoryStore()
  const out = []
  let n = 0
  for (const subject of SUBJECTS.filter((x) => x !== '')) {
    for (const predicate of PREDICATES) {
      // One to four agents against one, and a third value sometimes: several scores, each shared by several pairs.
      n++
      out.push(assertion({subject, predicate, value: 'a', hlc: stamp(1_700_000_000_000 + n, 0)}, testKey(1)))
      for (let k = 0; k <= n % 4; k++) out.push(assertion({subject, predicate, value: 'b', hlc: stamp(1_700_000_000_000 + n, k + 1)}, testKey(2 + k)))
      if (n % 3 === 0) out.push(assertion({subject, predicate, value: 'c', hlc: stamp(1_700_000_000_000 + n, 9)}, testKey(9)))
    }
  }
  await s.insert(out)
  return s
}

const deps = (s: MemoryStore) => ({store: s, config: {...DEFAULT_CONFIG}})
const key = (r: ConflictRow) => JSON.stringify([r.subject, r.predicate])

beforeAll(() => initHash())

describe('conflicts, a page at a time', () => {
  it('every page size, with each lens and score bound, pages through the whole ranking once, in order', async () => {
    const s = await store()
    const inputs: ConflictsInput[] = [{}, {lens: 'recency'}, {lens: 'confidence'}, {minScore: 0.5}, {lens: 'votes', minScore: 0.2}]
    let pages = 0
    for (const input of inputs) {
      const whole = await conflictsOp(deps(s), {...input, now: 1_800_000_000_000})
      expect(whole.conflicts.length, JSON.stringify(input)).toBeGreaterThan(3)
      for (let size = 1; size <= whole.conflicts.length + 1; size++) {
        const got: ConflictRow[] = []
        let after: string | undefined
        for (;;) {
          const page = await conflictsPageOp(deps(s), {...input, limit: size, after: after === undefined ? undefined : parseConflictPosition(after, 'after'), now: 1_800_000_000_000})
          pages++
          expect(page.limit).toBe(size)
          expect({...page, conflicts: [], limit: undefined, next: undefined}).toEqual({...whole, conflicts: [], limit: undefined, next: undefined})
          got.push(...page.conflicts)
          // More follow exactly when the whole ranking goes on past this page.
          expect(page.next !== undefined, `${JSON.stringify(input)} pages of ${size}`).toBe(got.length < whole.conflicts.length)
          if (page.next === undefined) break
          expect(page.conflicts).toHaveLength(size)
          after = page.next
        }
        expect(got.map(key), `${JSON.stringify(input)} pages of ${size}`).toEqual(whole.conflicts.map(key))
        expect(got).toEqual(whole.conflicts)
      }
    }
    expect(pages).toBeGreaterThan(100)
  })

  it('a place carries its score, subject and predicate exactly; anything else is refused naming the input', () => {
    for (const subject of SUBJECTS) {
      for (const predicate of PREDICATES) {
        for (const conflict of [0, 1, 0.1 + 0.2, 1 / 3, 5e-324]) {
          const p = {conflict, subject, predicate}
          const text = conflictPositionText(p)
          expect(text).toMatch(/^[A-Za-z0-9_-]+$/)
          expect(parseConflictPosition(text, 'query parameter after')).toEqual(p)
        }
      }
    }
    const b64 = (s: string) => Buffer.from(s).toString('base64url')
    for (const bad of ['', 'a b', '%5B', b64('[1.5,"s","p"]'), b64('[-0.1,"s","p"]'), b64('[0.5,"s"]'), b64('[0.5,"s",1]'), b64('{"conflict":1}'), b64('[0.5,"s","p",1]'), b64('not json')]) {
      expect(() => parseConflictPosition(bad, 'query parameter after'), bad).toThrow(/^query parameter after ".*" is not a place in the ranking of conflicts$/)
    }
  })
})
