/** The progress line's text: the counted field against its total, the rate and the time left. */
import {describe, expect, it} from 'vitest'
import {progressText} from '../../src/ui/progress.js'

describe('progressText', () => {
  it('without a total: the fields, and the rate of lines (ingest, as before)', () => {
    expect(progressText({lines: 50_000, added: 49_000}, 2)).toBe('lines 50,000 · added 49,000 · 25,000/s')
    // No lines field (sync): no rate.
    expect(progressText({rounds: 3, received: 10}, 2)).toBe('rounds 3 · received 10')
  })

  it('with a total: the counted field shows its share, the rate and the time left', () => {
    expect(progressText({checked: 250_000}, 10, {total: 1_000_000, count: 'checked'})).toBe('checked 250,000 of 1,000,000 (25%) · 25,000/s · about 30s left')
    expect(progressText({checked: 100}, 10, {total: 100_000, count: 'checked'})).toBe('checked 100 of 100,000 (0%) · 10/s · about 2h46m left')
    expect(progressText({checked: 30_000}, 10, {total: 300_000, count: 'checked'})).toBe('checked 30,000 of 300,000 (10%) · 3,000/s · about 1m30s left')
  })

  it('says no time left before the rate settles, when done, or past a total that grew', () => {
    expect(progressText({checked: 10}, 0.5, {total: 1000, count: 'checked'})).toBe('checked 10 of 1,000 (1%) · 20/s')
    expect(progressText({checked: 1000}, 5, {total: 1000, count: 'checked'})).toBe('checked 1,000 of 1,000 (100%) · 200/s')
    expect(progressText({checked: 1200}, 5, {total: 1000, count: 'checked'})).toBe('checked 1,200 of 1,000 (100%) · 240/s')
    expect(progressText({checked: 0}, 0, {total: 0, count: 'checked'})).toBe('checked 0 of 0 (0%)')
  })
})
