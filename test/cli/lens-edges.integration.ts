/** Lens edge cases through bin/run.js: the same records give the same answer whatever the host (needs `npm run build`). */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {sandbox, type Sandbox} from '../helpers/cli.js'

let sb: Sandbox
const winner = (r: {resolutions: Array<{winner?: {value: unknown}; status: string}>}) => r.resolutions[0]?.winner?.value ?? r.resolutions[0]?.status

beforeAll(() => {
  sb = sandbox('steme-lens-edges-')
  expect(sb.run(['init']).code).toBe(0)
})
afterAll(() => sb.cleanup())

describe('dates without an offset', () => {
  it('a valid range written without an offset holds at the same instants in every time zone (it is UTC)', () => {
    expect(sb.run(['assert', 'svc:tz', 'limit', '1', '--valid-from', '2025-06-01T12:00']).code).toBe(0)
    expect(sb.run(['assert', 'svc:tz', 'limit', '2', '--valid-from', '2025-06-01 18:00:00']).code).toBe(0)
    for (const TZ of ['UTC', 'America/New_York', 'Asia/Tokyo']) {
      const at = (date: string) => winner(sb.json(['query', 'svc:tz', 'limit', '--lens', 'recency', '--valid-at', date], {env: {TZ}}))
      // Just before noon UTC nothing held yet; at noon UTC the first did (from is inclusive); at 18:00 UTC the second.
      expect(at('2025-06-01T11:59:59Z'), TZ).toBe('empty')
      expect(at('2025-06-01T12:00:00Z'), TZ).toBe(1)
      expect(at('2025-06-01T12:00'), TZ).toBe(1)
      expect(at('2025-06-01T18:00:00+00:00'), TZ).toBe(2)
    }
  })

  it('a date in another form than ISO-8601 is refused, not read in the host time zone', () => {
    for (const [flag, date] of [['--valid-at', '2025/06/01'], ['--as-of', 'June 1 2025'], ['--valid-at', '2025-06-01t12:00']]) {
      const r = sb.run(['query', 'svc:tz', 'limit', flag, date], {env: {TZ: 'America/New_York'}})
      expect(r.code, date).toBe(2)
      expect(r.stderr, date).toContain(`${flag} "${date}" is ${flag === '--as-of' ? 'neither a date nor an HLC stamp' : 'not a date'}`)
    }
  })

  it('epochs starting at a date-time without an offset start at the same instant in every time zone', () => {
    expect(sb.run(['epoch', 'tz-era', '--starts', '2025-06-01T12:00']).code).toBe(0)
    expect(sb.run(['assert', 'svc:era', 'limit', '3']).code).toBe(0)
    for (const TZ of ['UTC', 'America/New_York', 'Asia/Tokyo']) {
      const r = sb.json<{resolutions: Array<{explanation: string[]}>}>(['query', 'svc:era', 'limit', '--lens', 'epoch', '--valid-at', '2025-06-01T13:00:00Z', '--explain'], {env: {TZ}})
      expect(r.resolutions[0].explanation.join(' '), TZ).toContain('epoch "tz-era" (current)')
    }
  })
})

describe('vote says when the votes lens will not count it', () => {
  it('on the voter\'s own value, on a retracted assertion, on a superseded one; and nothing on a live value of another', () => {
    expect(sb.run(['keys', 'generate', '--name', 'bob']).code).toBe(0)
    const mine = sb.json<{id: string}>(['assert', 'svc:vote', 'size', '1']).id
    const bobs = sb.json<{id: string}>(['assert', 'svc:vote', 'size', '2'], {env: {STEME_KEY: 'bob'}}).id
    const own = sb.run(['vote', mine, 'up'])
    expect(own.code).toBe(0)
    expect(own.stderr).toContain('your own latest word on svc:vote size holds this value')
    const other = sb.run(['vote', bobs, 'up'])
    expect(other.code).toBe(0)
    expect(other.stderr).toBe('')
    // The answer agrees: bob's 2 has bob and my vote, my 1 only me.
    expect(winner(sb.json(['query', 'svc:vote', 'size', '--lens', 'votes']))).toBe(2)
    const newer = sb.json<{id: string}>(['assert', 'svc:vote', 'size', '3', '--supersedes', mine]).id
    expect(sb.run(['vote', mine, 'down'], {env: {STEME_KEY: 'bob'}}).stderr).toContain(`is superseded by ${newer.slice(0, 12)}`)
    expect(sb.run(['retract', bobs]).code).toBe(0)
    expect(sb.run(['vote', bobs, 'up']).stderr).toContain('is retracted (for this key\'s queries)')
    // Withdrawing a vote has nothing to warn about.
    expect(sb.run(['vote', bobs, 'withdraw']).stderr).toBe('')
  })
})
