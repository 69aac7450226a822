/** Hybrid logical clock (Kulkarni et al. 2014): fixed-width stamps whose string order is time order. */
import {UserError} from './errors.js'
import {field} from './text.js'

export interface Stamp {
  wall: number
  counter: number
}

export const HLC_RE = /^[0-9a-f]{16}-[0-9a-f]{4}$/

/** The store meta key under which the clock's last issued stamp is saved, so stamps never repeat across restarts. */
export const HLC_META = 'hlc'
const MAX_COUNTER = 0xffff

export function formatHlc(s: Stamp): string {
  return s.wall.toString(16).padStart(16, '0') + '-' + s.counter.toString(16).padStart(4, '0')
}

/** The i-th stamp after `first` (i = 0 is `first`), counting as tick() does: the counter wraps into the next millisecond. */
export function stampAt(first: Stamp, i: number): string {
  const c = first.counter + i
  return formatHlc({wall: first.wall + Math.floor(c / (MAX_COUNTER + 1)), counter: c % (MAX_COUNTER + 1)})
}

export function parseHlc(text: string): Stamp {
  if (!HLC_RE.test(text)) throw new UserError(`"${field(text)}" is not an HLC stamp`, {hint: 'an HLC stamp looks like 0000019aa3c4d5e6-0000'})
  return {wall: parseInt(text.slice(0, 16), 16), counter: parseInt(text.slice(17), 16)}
}

/**
 * The stamp just before this one, so `hlc > hlcBefore(s)` takes in every record stamped s (for
 * paging: the stamps of a page's last records are not all seen yet). '' before the first stamp.
 */
export function hlcBefore(text: string): string {
  const {wall, counter} = parseHlc(text)
  if (counter > 0) return formatHlc({wall, counter: counter - 1})
  return wall > 0 ? formatHlc({wall: wall - 1, counter: MAX_COUNTER}) : ''
}

export const compareStamps = (a: Stamp, b: Stamp): number => a.wall - b.wall || a.counter - b.counter

/**
 * The clock itself. `now` reads wall time (injected so tests and lenses stay deterministic);
 * `onAdvance` persists each new stamp, so a restarted store never reissues one.
 */
export class Hlc {
  private last: Stamp
  constructor(
    last: Stamp | undefined,
    private readonly now: () => number = Date.now,
  ) {
    this.last = last ?? {wall: 0, counter: 0}
  }

  /** A stamp for a local event: strictly above every stamp seen or issued. */
  tick(): string {
    const wall = this.now()
    if (wall > this.last.wall) this.last = {wall, counter: 0}
    else this.bump()
    return formatHlc(this.last)
  }

  /**
   * `n` consecutive stamps for a batch of local events, in one step: returns the first (the
   * i-th is `stampAt(first, i)`), and the clock ends at the last, as n calls of tick() would.
   */
  reserve(n: number): Stamp {
    const first = parseHlc(this.tick())
    const c = first.counter + Math.max(0, n - 1)
    this.last = {wall: first.wall + Math.floor(c / (MAX_COUNTER + 1)), counter: c % (MAX_COUNTER + 1)}
    return first
  }

  /** Take in a stamp from a received record: the clock moves past it. */
  receive(stamp: string): void {
    const s = parseHlc(stamp)
    if (compareStamps(s, this.last) > 0) this.last = s
  }

  current(): string {
    return formatHlc(this.last)
  }

  private bump(): void {
    if (this.last.counter < MAX_COUNTER) this.last = {wall: this.last.wall, counter: this.last.counter + 1}
    else this.last = {wall: this.last.wall + 1, counter: 0}
  }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/** The ISO-8601 forms a date takes, in records and in --as-of / --valid-at alike. */
export const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/
/** An ISO-8601 date-time without an offset ("2025-06-01T12:00", "2025-06-01 12:00:00.5"). */
const NO_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/

/**
 * Date.parse, except that a day the month does not have is not a date: V8 reads 2026-02-30 as
 * 2 March (days up to 31 roll over into the next month). NaN when it is not a date.
 * A date-time without an offset is UTC, as a date alone is: Date.parse reads it in the host's
 * time zone, so one signed `valid` range held at different instants on different peers. Only
 * the ISO forms are dates: Date.parse reads 2026/01/31 or "January 31 2026" as local time too.
 */
export function parseDate(text: string): number {
  if (!ISO_DATE.test(text)) return NaN
  const ms = Date.parse(NO_OFFSET.test(text) ? `${text.replace(' ', 'T')}Z` : text)
  const ymd = /^(\d{4})-(\d{2})-(\d{2})/.exec(text)
  if (Number.isNaN(ms) || !ymd) return ms
  const [y, m, d] = [Number(ymd[1]), Number(ymd[2]), Number(ymd[3])]
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)
  return m >= 1 && m <= 12 && d >= 1 && d <= DAYS_IN_MONTH[m - 1] + (m === 2 && leap ? 1 : 0) ? ms : NaN
}

/** Parse a date or an HLC stamp given by a user (for --as-of, --since) into an HLC string bound; `what` names the input in the error. */
export function hlcBound(text: string, what?: string): string {
  if (HLC_RE.test(text)) return text
  const ms = parseDate(text)
  if (Number.isNaN(ms)) {
    throw new UserError(`${what ? `${what} ` : ''}"${field(text)}" is neither a date nor an HLC stamp`, {
      hint: 'use an ISO-8601 date such as 2026-01-31 or 2026-01-31T12:00:00Z, or a stamp such as 0000019aa3c4d5e6-0000',
    })
  }
  return formatHlc({wall: ms, counter: MAX_COUNTER})
}
