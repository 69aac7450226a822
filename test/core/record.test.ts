import {beforeAll, describe, expect, it} from 'vitest'
import {blake3, initHash, toHex} from '../../src/core/hash.js'
import {RecordError} from '../../src/core/errors.js'
import {checkRecord, recordLine, seal} from '../../src/core/seal.js'
import {BOUNDS, jsonDepth, textTooDeep} from '../../src/core/record.js'
import {assertion, record, stamp, testKey} from '../helpers/records.js'

const NOW = 1_700_000_100_000
const opts = {nowMs: NOW, skewMs: 60_000}

function reason(obj: unknown): string {
  try {
    checkRecord(obj, opts)
  } catch (e) {
    if (e instanceof RecordError) return e.message
    throw e
  }
  return 'accepted'
}

beforeAll(() => initHash())

describe('record validation', () => {
  it('accepts every kind, sealed', () => {
    const a = assertion({evidence: ['ab'.repeat(32)], valid: {from: '2024-01-01'}})
    const kinds = [
      a,
      record({kind: 'vote', target: a.record.id, weight: -1}),
      record({kind: 'retract', source: 'fda:label-2024', reason: 'withdrawn'}),
      record({kind: 'epoch', name: 'post-2024', starts: '2024-06-01T00:00:00Z', note: 'new guideline'}),
      record({kind: 'trust', target: testKey(2).publicHex, weight: 0.7}),
    ]
    for (const s of kinds) expect(reason(JSON.parse(recordLine(s.canonical, s.record.id, s.record.sig)))).toBe('accepted')
  })

  it('takes the canonical text of a line in canonical key order from the line itself, and rebuilds any other order', () => {
    const s = assertion({value: {b: 1, a: [{d: 2, c: 3}]}})
    const parsed = JSON.parse(recordLine(s.canonical, s.record.id, s.record.sig))
    expect(checkRecord(parsed, opts).canonical).toBe(s.canonical)
    // The same record with its keys shuffled (id and sig first, value keys reversed) is the same record.
    const shuffled = {sig: s.record.sig, id: s.record.id, value: {b: 1, a: [{d: 2, c: 3}]}, ...JSON.parse(s.canonical)}
    expect(checkRecord(JSON.parse(JSON.stringify(shuffled)), opts).canonical).toBe(s.canonical)
  })

  it('refuses a record whose id and signature cover a non-canonical encoding', () => {
    const key = testKey()
    const body = {v: 1, kind: 'assertion', agent: key.publicHex, hlc: stamp(), subject: 's', predicate: 'p', value: 1, confidence: 0.5}
    // Keys in insertion order, not canonical order: what a sloppy signer might hash.
    const text = JSON.stringify(body)
    const id = blake3(text)
    const line = `${text.slice(0, -1)},"id":"${toHex(id)}","sig":"${toHex(key.sign(id))}"}`
    expect(reason(JSON.parse(line))).toMatch(/^id: does not match the content/)
  })

  it('the interchange line round-trips to the same id', () => {
    const s = assertion({value: {a: [1, 2, {b: null}]}})
    const back = checkRecord(JSON.parse(recordLine(s.canonical, s.record.id, s.record.sig)), opts)
    expect(back.record.id).toBe(s.record.id)
    expect(back.canonical).toBe(s.canonical)
  })

  const base = () => JSON.parse(JSON.stringify(assertion().record)) as Record<string, unknown>
  const cases: Array<[string, (r: Record<string, unknown>) => void, RegExp]> = [
    ['unknown kind', (r) => (r.kind = 'opinion'), /^kind: unknown kind "opinion"/],
    ['wrong version', (r) => (r.v = 2), /^v: must be 1/],
    ['bad agent hex', (r) => (r.agent = 'XYZ'), /^agent: must be 64 lowercase hex/],
    ['uppercase id', (r) => (r.id = (r.id as string).toUpperCase()), /^id: must be 64 lowercase hex/],
    ['short sig', (r) => (r.sig = 'ab'), /^sig: must be 128 lowercase hex/],
    ['bad hlc', (r) => (r.hlc = '2024-01-01'), /^hlc: must look like/],
    ['confidence out of range', (r) => (r.confidence = 1.5), /^confidence: must be a number in \[0, 1\], got 1.5/],
    ['confidence as string', (r) => (r.confidence = '0.5'), /^confidence: must be a number/],
    ['null optional', (r) => (r.source = null), /^source: is null; omit optional fields/],
    // Not "omit it": a value is required, and the way to take one back is a retraction.
    ['null value', (r) => (r.value = null), /^value: is null, but an assertion record requires it \(records never hold null\)$/],
    ['unknown field', (r) => (r.colour = 'red'), /^colour: is not a field of an assertion record/],
    ['missing subject', (r) => delete r.subject, /^subject: is required/],
    ['empty predicate', (r) => (r.predicate = ''), /^predicate: must not be empty/],
    ['oversize subject', (r) => (r.subject = 'x'.repeat(BOUNDS.subject + 1)), /^subject: is 513 chars, the bound is 512/],
    ['bad evidence id', (r) => (r.evidence = ['nothex']), /^evidence\[0\]: must be 64 lowercase hex/],
    ['valid from after to', (r) => (r.valid = {from: '2025-01-01', to: '2024-01-01'}), /^valid: from \(2025-01-01\) is after to/],
    ['bad date', (r) => (r.valid = {from: 'yesterday'}), /^valid.from: must be an ISO-8601 date/],
    // Date.parse reads 2026-02-30 as 2 March: a day the month does not have is no date.
    ['a day February does not have', (r) => (r.valid = {from: '2026-02-29'}), /^valid.from: must be an ISO-8601 date.*"2026-02-29"/],
    ['the 31st of a 30-day month', (r) => (r.valid = {to: '2026-04-31T10:00:00Z'}), /^valid.to: must be an ISO-8601 date/],
    ['content changed', (r) => (r.value = 0.5), /^id: does not match the content/],
    ['future stamp', (r) => (r.hlc = stamp(NOW + 3_600_000, 0)), /^hlc: is 3600 s in the future, beyond the allowed clock skew of 60 s/],
    ['nothing (the control case)', () => undefined, /^accepted$/],
  ]
  for (const [name, mutate, expected] of cases) {
    it(`judges ${name} with a precise reason`, () => {
      const r = base()
      mutate(r)
      expect(reason(r)).toMatch(expected)
    })
  }

  it('rejects a signature by another key, and a swapped agent', () => {
    const s = assertion()
    const other = seal({...(JSON.parse(s.canonical) as object), agent: testKey(3).publicHex} as never, testKey(3))
    expect(reason({...s.record, sig: other.record.sig})).toMatch(/^sig: does not verify/)
    expect(reason({...s.record, agent: testKey(3).publicHex})).toMatch(/^id: does not match/)
  })

  it('rejects an oversize value', () => {
    expect(() => assertion({value: 'x'.repeat(BOUNDS.value + 10)})).toThrow(/^value: is \d+ bytes as canonical JSON \(UTF-8\), the bound is 65536/)
  })

  it('bounds value size in UTF-8 bytes, not characters', () => {
    // "é" is 2 bytes, "字" 3: the canonical value is the quoted string.
    expect(() => assertion({value: 'é'.repeat(32766)})).not.toThrow() // 65534 bytes
    expect(() => assertion({value: 'é'.repeat(32768)})).toThrow(/^value: is 65538 bytes as canonical JSON \(UTF-8\), the bound is 65536/)
    expect(() => assertion({value: '字'.repeat(21844)})).not.toThrow() // 65534 bytes
    expect(() => assertion({value: '字'.repeat(80000)})).toThrow(/^value: is 240002 bytes/)
  })

  it('a received record over the byte bound is refused though its character count is within it', () => {
    // Signed by hand: seal() itself refuses to make such a record.
    const key = testKey()
    const body = {v: 1, kind: 'assertion', agent: key.publicHex, hlc: stamp(), subject: 's', predicate: 'p', value: 'é'.repeat(40000), confidence: 1}
    const canonical = JSON.stringify(Object.fromEntries(Object.entries(body).sort(([a], [b]) => (a < b ? -1 : 1))))
    const id = blake3(canonical)
    const signed = JSON.parse(recordLine(canonical, toHex(id), toHex(key.sign(id))))
    expect(reason(signed)).toBe('value: is 80002 bytes as canonical JSON (UTF-8), the bound is 65536')
  })

  it('a retraction names exactly one target', () => {
    expect(() => record({kind: 'retract'})).toThrow(/exactly one of target/)
    expect(() => record({kind: 'retract', target: 'ab'.repeat(32), source: 'x'})).toThrow(/exactly one of target/)
  })

  it('vote weights are 1, -1 or 0; trust weights in [0, 1]', () => {
    expect(() => record({kind: 'vote', target: 'ab'.repeat(32), weight: 2})).toThrow(/^weight: must be 1, -1 or 0/)
    expect(() => record({kind: 'trust', target: 'ab'.repeat(32), weight: -0.1})).toThrow(/^weight: must be a number in \[0, 1\]/)
  })

  it('rejects non-objects', () => {
    expect(reason([1])).toMatch(/^record: must be a JSON object, got an array/)
    expect(reason('x')).toMatch(/^record: must be a JSON object, got string/)
  })

  it('nesting is bounded at 64 levels, counted without recursion, on parsed values and on text', () => {
    const nest = (d: number): unknown => {
      let v: unknown = 1
      for (let i = 0; i < d; i++) v = i % 2 ? [v] : {a: v}
      return v
    }
    expect(jsonDepth(nest(3))).toBe(3)
    // 100,000 levels: a recursive count or encoder would exhaust the stack; this stops past the bound.
    expect(jsonDepth(nest(100_000))).toBe(BOUNDS.depth + 1)
    const ok = assertion({value: nest(BOUNDS.depth - 1) as never})
    expect(ok.record.id).toMatch(/^[0-9a-f]{64}$/)
    expect(() => assertion({value: nest(BOUNDS.depth) as never})).toThrow(/^record: nests arrays and objects deeper than the bound of 64 levels/)
    expect(reason({...ok.record, value: nest(100_000)})).toMatch(/^record: nests arrays and objects deeper/)
    expect(textTooDeep('['.repeat(64) + ']'.repeat(64))).toBe(false)
    expect(textTooDeep('['.repeat(65) + ']'.repeat(65))).toBe(true)
    expect(textTooDeep(JSON.stringify({s: '['.repeat(500)}))).toBe(false) // brackets inside strings do not count
    expect(textTooDeep(JSON.stringify({s: '\\"' + '{'.repeat(500)}))).toBe(false)
    // Many brackets side by side are wide, not deep (more than the bound in all: the full scan decides).
    expect(textTooDeep(JSON.stringify(Array.from({length: 500}, () => [{a: [1]}])))).toBe(false)
    expect(textTooDeep('{"a":' + '['.repeat(64) + ']'.repeat(64) + '}')).toBe(true)
  })
})
