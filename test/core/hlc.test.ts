import {describe, expect, it} from 'vitest'
import {fc, test as fcTest} from '../helpers/fc.js'
import {Hlc, formatHlc, hlcBefore, hlcBound, parseDate, parseHlc, stampAt} from '../../src/core/hlc.js'
import {checkDate} from '../../src/ops/query.js'

describe('HLC', () => {
  it('formats fixed width so string order is time order', () => {
    expect(formatHlc({wall: 0x19aa3c4d5e6, counter: 0})).toBe('0000019aa3c4d5e6-0000')
    expect(parseHlc('0000019aa3c4d5e6-00ff')).toEqual({wall: 0x19aa3c4d5e6, counter: 255})
  })

  it('bumps the counter when wall time does not advance, and resets when it does', () => {
    let wall = 1000
    const c = new Hlc(undefined, () => wall)
    expect(c.tick()).toBe(formatHlc({wall: 1000, counter: 0}))
    expect(c.tick()).toBe(formatHlc({wall: 1000, counter: 1}))
    wall = 999 // the wall clock went backwards
    expect(c.tick()).toBe(formatHlc({wall: 1000, counter: 2}))
    wall = 2000
    expect(c.tick()).toBe(formatHlc({wall: 2000, counter: 0}))
  })

  it('moves past received stamps', () => {
    const c = new Hlc(undefined, () => 1000)
    c.receive(formatHlc({wall: 5000, counter: 7}))
    expect(c.tick()).toBe(formatHlc({wall: 5000, counter: 8}))
    c.receive(formatHlc({wall: 10, counter: 0}))
    expect(c.tick()).toBe(formatHlc({wall: 5000, counter: 9}))
  })

  it('resumes above a persisted stamp (restart), even if the wall clock is behind', () => {
    const first = new Hlc(undefined, () => 5000)
    first.tick()
    const last = first.tick()
    const restarted = new Hlc(parseHlc(last), () => 4000)
    expect(restarted.tick() > last).toBe(true)
  })

  it('reserves a run of stamps that n ticks would have issued, counter overflow included', () => {
    const ticked = new Hlc({wall: 7, counter: 0xfffd}, () => 0)
    const reserved = new Hlc({wall: 7, counter: 0xfffd}, () => 0)
    const expected = Array.from({length: 5}, () => ticked.tick())
    const first = reserved.reserve(5)
    expect(Array.from({length: 5}, (_, i) => stampAt(first, i))).toEqual(expected)
    expect(reserved.current()).toBe(ticked.current())
    expect(reserved.tick()).toBe(ticked.tick())
  })

  it('carries counter overflow into the wall part', () => {
    const c = new Hlc({wall: 7, counter: 0xffff}, () => 0)
    expect(c.tick()).toBe(formatHlc({wall: 8, counter: 0}))
  })

  fcTest.prop([fc.array(fc.oneof(fc.record({t: fc.constant('tick' as const), wall: fc.integer({min: 0, max: 1e6})}), fc.record({t: fc.constant('recv' as const), wall: fc.integer({min: 0, max: 1e6}), c: fc.integer({min: 0, max: 0xffff})})), {maxLength: 200})])(
    'never issues a stamp at or below one it issued or received',
    (events) => {
      let wall = 0
      const c = new Hlc(undefined, () => wall)
      let high = ''
      for (const e of events) {
        if (e.t === 'tick') {
          wall = e.wall
          const s = c.tick()
          expect(s > high).toBe(true)
          high = s
        } else {
          const s = formatHlc({wall: e.wall, counter: e.c})
          c.receive(s)
          if (s > high) high = s
        }
      }
    },
  )

  it('turns dates and stamps into as-of bounds, and says what a bad one should look like', () => {
    expect(hlcBound('0000019aa3c4d5e6-0000')).toBe('0000019aa3c4d5e6-0000')
    expect(hlcBound('2026-01-01T00:00:00Z')).toBe(formatHlc({wall: Date.parse('2026-01-01T00:00:00Z'), counter: 0xffff}))
    expect(() => hlcBound('last tuesday')).toThrow(/neither a date nor an HLC stamp/)
    // Days a month does not have are refused, not rolled into the next month; leap days hold.
    expect(() => hlcBound('2026-02-30')).toThrow(/neither a date nor an HLC stamp/)
    expect(() => hlcBound('2100-02-29')).toThrow(/neither a date nor an HLC stamp/)
    expect(hlcBound('2024-02-29')).toBe(formatHlc({wall: Date.parse('2024-02-29'), counter: 0xffff}))
    expect(hlcBound('2000-02-29T12:00:00+02:00')).toBe(formatHlc({wall: Date.parse('2000-02-29T10:00:00Z'), counter: 0xffff}))
  })

  it('takes the ISO-8601 forms records take, and no form Date.parse would read in the host time zone', () => {
    // 2026/01/31, "January 31 2026" and a lowercase t were read as local time: --as-of and
    // --valid-at named different instants on peers in different zones (docs/lenses.md: UTC).
    const tz = process.env.TZ
    process.env.TZ = 'America/New_York'
    try {
      for (const text of ['2026/01/31', 'January 31 2026', 'Sat, 31 Jan 2026 12:00:00', '2026-01-31t12:00', '2026-01-31T12:00:00.5 ']) {
        expect(Number.isNaN(parseDate(text)), text).toBe(true)
        expect(() => hlcBound(text, '--as-of'), text).toThrow(/--as-of .* is neither a date nor an HLC stamp/)
        expect(() => checkDate(text, '--valid-at'), text).toThrow(/--valid-at .* is not a date/)
      }
      // The forms a record's dates take mean one instant wherever they are read.
      expect(parseDate('2026-01-31')).toBe(Date.UTC(2026, 0, 31))
      expect(parseDate('2026-01-31 12:00')).toBe(Date.UTC(2026, 0, 31, 12))
      expect(parseDate('2026-01-31T12:00:00.123456Z')).toBe(Date.UTC(2026, 0, 31, 12, 0, 0, 123))
      expect(parseDate('2026-01-31T12:00+0200')).toBe(Date.UTC(2026, 0, 31, 10))
    } finally {
      if (tz === undefined) delete process.env.TZ
      else process.env.TZ = tz
    }
  })
})

describe('hlcBefore', () => {
  it('is the stamp just before: the counter down one, or the last counter of the millisecond before', () => {
    expect(hlcBefore('0000019aa3c4d5e6-0002')).toBe('0000019aa3c4d5e6-0001')
    expect(hlcBefore('0000019aa3c4d5e6-0000')).toBe('0000019aa3c4d5e5-ffff')
    expect(hlcBefore('0000000000000000-0000')).toBe('')
    for (const s of ['0000019aa3c4d5e6-0002', '0000019aa3c4d5e6-0000', '0000019aa3c4d600-0000']) {
      expect(hlcBefore(s) < s).toBe(true)
    }
  })
})
