/** Candidate filters: the lifecycle every query applies, and the named filters of lens expressions. */
import {UserError} from '../core/errors.js'
import {hlcBound, parseDate} from '../core/hlc.js'
import type {Assertion} from '../core/record.js'
import {field, unitNumber} from '../core/text.js'
import {matcher} from './authority.js'
import {currentEpoch, epochOf, epochTimeline, unknownEpoch} from './epochs.js'
import type {LensContext} from './types.js'

export interface LifecycleOptions {
  /** Keep retracted candidates (--include-retracted). */
  includeRetracted?: boolean
  /** Keep superseded candidates. */
  includeSuperseded?: boolean
}

/** Does an assertion's `valid` range hold at a date? Open ends are unbounded; no range holds always. */
export function validAt(a: Assertion, date: string): boolean {
  const t = parseDate(date)
  if (a.valid?.from !== undefined && parseDate(a.valid.from) > t) return false
  if (a.valid?.to !== undefined && parseDate(a.valid.to) <= t) return false
  return true
}

/** What every query does first: drop retracted and superseded assertions, and those not valid at --valid-at. */
export function lifecycle(cands: readonly Assertion[], ctx: LensContext, opts: LifecycleOptions = {}): Assertion[] {
  return cands.filter(
    (a) =>
      (opts.includeRetracted || !ctx.retracted.has(a.id)) &&
      (opts.includeSuperseded || !ctx.superseded.has(a.id)) &&
      (ctx.validAt === undefined || validAt(a, ctx.validAt)),
  )
}

type Filter = (cands: readonly Assertion[], arg: string, ctx: LensContext) => Assertion[]

/** A filter: what it keeps, a check of its argument before any store access, and a note when the argument names nothing there. */
export const FILTERS: Record<string, {describe: string; run: Filter; check?: (arg: string) => void; note?: (arg: string, ctx: LensContext) => string | undefined}> = {
  epoch: {
    describe: 'epoch:current or epoch:<name>: only assertions of that epoch',
    run: (cands, arg, ctx) => {
      const timeline = epochTimeline(ctx.epochs)
      const name = arg === 'current' ? currentEpoch(timeline, ctx) : arg
      if (name === undefined) return []
      return cands.filter((a) => epochOf(a, timeline) === name)
    },
    // Not an error: the epoch's record may yet arrive by sync. But an empty answer says why.
    note: (arg, ctx) => {
      if (arg === 'current') {
        if (currentEpoch(epochTimeline(ctx.epochs), ctx) !== undefined) return undefined
        // An ignored epoch may well have started: the reason is whose it is, not when.
        const whose = ctx.ignoredEpochs?.length ? ' declared by an agent trusted here' : ''
        return `no epoch${whose} has started by the time asked, so epoch:current keeps nothing`
      }
      // Declared, but only by agents not trusted here: "no record declares it" would be untrue.
      if (!ctx.epochs.some((e) => e.name === arg) && ctx.ignoredEpochs?.some((e) => e.name === arg)) return `epoch "${field(arg)}" is declared only by agents not trusted here, so epoch:${field(arg)} keeps nothing`
      return unknownEpoch(arg, ctx.epochs)
    },
  },
  source: {
    describe: 'source:<glob>: only assertions citing a matching source (* is a wildcard)',
    run: (cands, arg, ctx) => cands.filter(matcher(arg.startsWith('source:') ? arg : `source:${arg}`, ctx.self)),
  },
  agent: {
    describe: 'agent:<hex prefix> or agent:self: only assertions by that agent',
    // Agent keys are hex: anything else (a key's name, a typo) would match nobody, silently.
    check: (arg) => {
      if (arg !== 'self' && !/^[0-9a-fA-F]+$/.test(arg)) {
        throw new UserError(`agent:${/^[^\s"\\]+$/.test(arg) ? arg : JSON.stringify(arg)}: not an agent key or the start of one (hex digits)`, {
          hint: 'write agent:self for your own key, or agent:<the first hex digits of the key>: `steme keys list` shows your keys, `steme trust list` the agents you know',
        })
      }
    },
    run: (cands, arg, ctx) => cands.filter(matcher(arg === 'self' ? 'self' : `agent:${arg}`, ctx.self)),
    note: (arg, ctx) => (arg === 'self' && ctx.self === undefined ? 'there is no signing key here, so agent:self keeps nothing (`steme keys generate`, or STEME_KEY, gives one)' : undefined),
  },
  'min-confidence': {
    describe: 'min-confidence:<x>: only assertions with confidence >= x',
    check: (arg) => {
      if (unitNumber(arg) === undefined) throw new UserError(`min-confidence:${/^[^\s"\\]+$/.test(arg) ? arg : JSON.stringify(arg)}: the threshold must be a number in [0, 1]`)
    },
    run: (cands, arg) => cands.filter((a) => a.confidence >= Number(arg)),
  },
  since: {
    describe: 'since:<date|hlc>: only assertions stamped after it',
    check: (arg) => void hlcBound(arg, 'the lens filter since:'),
    run: (cands, arg) => cands.filter((a) => a.hlc > hlcBound(arg)),
  },
  until: {
    describe: 'until:<date|hlc>: only assertions stamped at or before it',
    check: (arg) => void hlcBound(arg, 'the lens filter until:'),
    run: (cands, arg) => cands.filter((a) => a.hlc <= hlcBound(arg)),
  },
}
