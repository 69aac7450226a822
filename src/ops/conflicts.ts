/** The most contested (subject, predicate) pairs in the store, by the conflict score of a lens (default consensus). */
import {UserError} from '../core/errors.js'
import {hlcBound} from '../core/hlc.js'
import {inputName, type Naming} from '../core/naming.js'
import type {Assertion, Retract, Vote} from '../core/record.js'
import {compareRecords, walkLineage, type ContestedBatch} from '../core/store.js'
import {cascade} from '../lenses/cascade.js'
import {lifecycle, validAt} from '../lenses/filters.js'
import {compile, filterNotes, resolve} from '../lenses/registry.js'
import type {Resolution, RetractionWhy} from '../lenses/types.js'
import {valuesOverlap} from '../lenses/validity.js'
import {valueKey} from '../lenses/values.js'
import {firstHonoured, gatherPolicy, honours, lensParams, selfOf, supersessionOverTime, type Policy} from './context.js'
import type {Deps} from './deps.js'
import {checkDate} from './query.js'
import {learnReliability} from './reliability.js'
import {SortedRuns} from './sorted-runs.js'

export interface ConflictsInput {
  minScore?: number
  lens?: string
  limit?: number
  /** Only pairs ranked strictly after this one (a page's `next`): the page after it. */
  after?: ConflictPosition
  asOf?: string
  /** What held in the world at this date: candidates and superseders whose `valid` range covers it, as `steme query --valid-at`. */
  validAt?: string
  now?: number
  /** How messages name the inputs: as the CLI's flags (default) or as the daemon's query parameters. */
  naming?: Naming
}

export interface ConflictRow {
  subject: string
  predicate: string
  conflict: number
  /**
   * Present when the pair's valid ranges cut time into more stretches than are worked out one by
   * one (64): how many. The score is then the lens's over all dates, possibly lower than some
   * date's (`query --explain` says so; `--valid-at` gives a date's own).
   */
  cappedStretches?: number
  /**
   * Without a date, where the score is that of one stretch of time: a date (as `--valid-at` takes
   * it) that gives it. `values`, `winner` and `top` are the answer over all dates, which can hold
   * fewer values than that date (one superseded only from a later date on).
   */
  conflictAt?: string
  values: number
  witnesses: number
  winner?: string
  status: string
  top: Array<{value: string; probability: number; witnesses: number}>
}

/**
 * Resolved rows kept in memory beyond the limit before the weakest are dropped: at least this
 * many, and a quarter of the limit, so a large limit is not sorted again every few rows.
 */
const SLACK = 256

/** A pair's place in the ranking (conflict score descending, then subject, then predicate): where a page ends. */
export interface ConflictPosition {
  conflict: number
  subject: string
  predicate: string
}

/** One page of the ranking, as the daemon answers it: the page size it was cut at, and where the next starts when there is more. */
export interface ConflictsPage extends ConflictsResult {
  limit: number
  /** The last row's place, to pass as `after`: present only when more pairs rank after this page. */
  next?: string
  /**
   * Set by a daemon whose scores count two values as conflicting only where their valid ranges
   * overlap (a timeline is no conflict): one from before leaves it out, and a client says so.
   */
  overlap?: true
  /**
   * Set by a daemon whose score without a date is the highest `--valid-at` gives at any date
   * (each stretch of time resolved as at a date in it): one from before weighs the values by their
   * belief over all dates, which can score a pair lower, and a client says so.
   */
  instants?: true
  /**
   * Set by a daemon whose score without a date takes each date's supersession (a superseding
   * assertion replaces nothing at a date its own range does not cover): one from before set every
   * superseded candidate aside at every date, which can score a pair lower or leave it out.
   */
  supersessionAtDates?: true
}

export interface ConflictsResult {
  lens: string
  /** The --as-of bound (an hlc) and the --valid-at date, as `steme query --json` says them; absent when not given. */
  asOf?: string
  validAt?: string
  minScore: number
  pairs: number
  conflicts: ConflictRow[]
  notes?: string[]
}

/**
 * The store hands over only contested pairs (more than one value), a batch at a time; each batch
 * gets the retraction cascade, supersession and votes that bear on its candidates, as the whole
 * store would give them, and only the `limit` strongest rows are kept.
 */
export async function conflictsOp(deps: Pick<Deps, 'store' | 'config'> & Partial<Pick<Deps, 'key'>>, input: ConflictsInput = {}): Promise<ConflictsResult> {
  return (await ranked(deps, input)).result
}

/**
 * A page of the ranking: the `limit` pairs ranked after `after` (from the top without it), and
 * `next` when more follow. Each page is a whole pass over the contested pairs (ranking needs
 * every score), but holds only about `limit` rows.
 */
export async function conflictsPageOp(deps: Pick<Deps, 'store' | 'config'> & Partial<Pick<Deps, 'key'>>, input: ConflictsInput & {limit: number}): Promise<ConflictsPage> {
  const {result, more} = await ranked(deps, input)
  const last = result.conflicts[result.conflicts.length - 1]
  return {...result, limit: input.limit, ...(more && last ? {next: conflictPositionText(last)} : {})}
}

/** Rows of a listing without a limit held in memory at most, before they are written to disk as a sorted run. */
export const RUN_ROWS = 20_000

/**
 * Every contested pair, as `conflictsOp` ranks them without a limit, read back from disk in order:
 * the rows are sorted in runs of `runRows` (RUN_ROWS) written to temporary files and merged as
 * they are read, so memory does not grow with the number of pairs. `onRow` sees each row as it is
 * ranked, in no order (a table measures its columns there). `rows()` may be read more than once;
 * close() removes the files.
 */
export interface ConflictsListing {
  head: Omit<ConflictsResult, 'conflicts'>
  /** Rows in the listing. */
  count: number
  /** Runs written to disk, and the most rows held in memory at once while ranking. */
  runs: number
  peakHeld: number
  rows(batch?: number): AsyncIterable<ConflictRow[]>
  close(): Promise<void>
}

export async function conflictsListingOp(
  deps: Pick<Deps, 'store' | 'config'> & Partial<Pick<Deps, 'key'>>,
  input: Omit<ConflictsInput, 'limit' | 'after'> = {},
  opts: {runRows?: number; tmpDir?: string; onRow?: (row: ConflictRow) => void} = {},
): Promise<ConflictsListing> {
  const sink = new SortedRuns<ConflictRow>(byConflict, opts.runRows ?? RUN_ROWS, opts.tmpDir, opts.onRow)
  try {
    const {result} = await ranked(deps, {...input, limit: undefined, after: undefined}, sink)
    const {conflicts: _, ...head} = result
    return {head, count: sink.count, runs: sink.runs, peakHeld: sink.peakHeld, rows: (batch) => sink.sorted(batch), close: () => sink.close()}
  } catch (e) {
    await sink.close()
    throw e
  }
}

async function ranked(deps: Pick<Deps, 'store' | 'config'> & Partial<Pick<Deps, 'key'>>, input: ConflictsInput, sink?: SortedRuns<ConflictRow>): Promise<{result: ConflictsResult; more: boolean}> {
  const expr = compile(input.lens ?? 'consensus', lensParams(deps.config.raw))
  const asOf = input.asOf === undefined ? undefined : hlcBound(input.asOf, inputName('as-of', input.naming))
  const valid = input.validAt === undefined ? undefined : checkDate(input.validAt, inputName('valid-at', input.naming))
  const self = selfOf(deps)
  const [{policy, epochs, ignoredEpochs}, retractions] = await Promise.all([gatherPolicy(deps, {asOf, self}), retractionsOf(deps.store, asOf)])
  const reliability = new Map<string, Awaited<ReturnType<typeof learnReliability>>['table']>()
  const minScore = input.minScore ?? 0
  const limit = input.limit
  const slack = limit === undefined ? 0 : Math.max(SLACK, Math.ceil(limit / 4))
  const after = input.after
  // Rows that made it past `after` and the score bound, kept or not: more than `limit` means a next page.
  let matched = 0
  let rows: ConflictRow[] = []
  const trust = new Map([...policy.scores].map(([a, s]) => [a, s.score]))
  // The same for every pair: computed once, not per pair.
  const params = lensParams(deps.config.raw)
  const now = input.now ?? Date.now()
  const needsReliability = expr.chain.some((s) => s.lens === 'reliability')
  const {pairs, batches} = await deps.store.contested({until: asOf, batch: 4096})
  for await (const whole of batches) {
    // At a date, a pair whose assertions holding then share one value cannot be contested then
    // (retraction and supersession only take more away): it costs no lookups.
    // Without a date, a pair whose values never hold at one instant (a timeline: "1.2" until July,
    // "1.3" from July) has no conflict at any instant, so none at all: it is dropped here too.
    const batch = {
      ...whole,
      groups: whole.groups.filter((g) => (valid === undefined ? !g.some((a) => a.valid !== undefined) || valuesOverlap(g, valueKey) : new Set(g.filter((a) => validAt(a, valid)).map(valueKey)).size > 1)),
    }
    if (batch.groups.length === 0) continue
    const {retracted, votesByTarget, superseders} = await batchContext(deps, batch, {asOf, validAt: valid, policy, retractions})
    let seen = 0
    for (const cands of batch.groups) {
      // Resolving pairs is CPU work: yield now and then so a daemon keeps serving other requests.
      if (++seen % 256 === 0) await new Promise<void>((r) => setImmediate(r))
      const others = superseders.size ? [...new Set(cands.flatMap((a) => superseders.get(a.id) ?? []))] : []
      const {superseded, supersededWhile} = supersessionOverTime(cands, retracted, policy, others, valid)
      const votes = cands.flatMap((a) => votesByTarget.get(a.id) ?? []).filter((v) => !retracted.has(v.id))
      const ctx = {now, asOf, validAt: valid, votes, retracted, superseded, ...(supersededWhile ? {supersededWhile} : {}), epochs, trust, self, params}
      // Without a date, one superseded only by ranged assertions counts at dates before they held (see resolve).
      const live = supersededWhile ? cands.filter((a) => !retracted.has(a.id) && (!superseded.has(a.id) || supersededWhile.has(a.id))) : lifecycle(cands, ctx)
      if (new Set(live.map(valueKey)).size < 2) continue
      const predicate = cands[0].predicate
      if (needsReliability && !reliability.has(predicate)) reliability.set(predicate, (await learnReliability(deps, predicate, asOf)).table)
      const res = resolve(expr, cands, {...ctx, reliability: reliability.get(predicate)})
      if (res.conflict < minScore || res.conflict === 0) continue
      const row = conflictRow(res)
      if (after && byConflict(row, after) <= 0) continue
      matched++
      if (sink) await sink.add(row)
      else rows.push(row)
      if (limit !== undefined && rows.length >= limit + slack) rows = rows.sort(byConflict).slice(0, limit)
    }
  }
  rows.sort(byConflict)
  // What the lens names that this store does not know (no key for agent:self, an epoch no record
  // declares) is the same for every pair: said once, as query says it, so an empty list is explained.
  const notes = filterNotes(expr, {now, asOf, validAt: valid, votes: [], retracted: new Map(), superseded: new Map(), epochs, ignoredEpochs, trust, self, params})
  const result = {
    lens: expr.text,
    ...(asOf !== undefined ? {asOf} : {}),
    ...(valid !== undefined ? {validAt: valid} : {}),
    minScore,
    pairs,
    conflicts: rows.slice(0, limit ?? rows.length),
    ...(notes.length ? {notes} : {}),
  }
  return {result, more: limit !== undefined && matched > limit}
}

/** A pair's place in the ranking as text, what a page's `next` holds and `after` takes: opaque to clients (base64url of JSON). */
export const conflictPositionText = (p: ConflictPosition): string => Buffer.from(JSON.stringify([p.conflict, p.subject, p.predicate])).toString('base64url')

/** A place in the ranking from its text; `what` names the input in the error. */
export function parseConflictPosition(text: string, what: string): ConflictPosition {
  let v: unknown
  try {
    v = /^[A-Za-z0-9_-]+$/.test(text) ? JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) : undefined
  } catch {
    v = undefined
  }
  if (!Array.isArray(v) || v.length !== 3 || typeof v[0] !== 'number' || !(v[0] >= 0 && v[0] <= 1) || typeof v[1] !== 'string' || typeof v[2] !== 'string') {
    throw new UserError(`${what} "${text.length > 40 ? text.slice(0, 40) + '…' : text}" is not a place in the ranking of conflicts`, {
      hint: 'pass the `next` of the page before, unchanged',
    })
  }
  return {conflict: v[0], subject: v[1], predicate: v[2]}
}

/** A pair's row in the listing, from its resolution: the three best values stand for the camps. */
export function conflictRow(res: Resolution): ConflictRow {
  return {
    subject: res.subject,
    predicate: res.predicate,
    conflict: res.conflict,
    ...(res.cappedStretches !== undefined ? {cappedStretches: res.cappedStretches} : {}),
    ...(res.conflictAt !== undefined ? {conflictAt: res.conflictAt} : {}),
    values: res.candidates.length,
    witnesses: res.candidates.reduce((t, c) => t + c.witnesses, 0),
    winner: res.winner?.key,
    status: res.status,
    top: res.candidates.slice(0, 3).map((c) => ({value: c.key, probability: c.probability, witnesses: c.witnesses})),
  }
}

const byConflict = (a: ConflictPosition, b: ConflictPosition): number => b.conflict - a.conflict || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : a.predicate < b.predicate ? -1 : a.predicate > b.predicate ? 1 : 0)

/** Every retraction in scope, by target and by source: far fewer than assertions, and read once. */
interface Retractions {
  byTarget: Map<string, Retract[]>
  bySource: Map<string, Retract[]>
}

async function retractionsOf(store: Deps['store'], asOf: string | undefined): Promise<Retractions> {
  const out: Retractions = {byTarget: new Map(), bySource: new Map()}
  for (const r of await store.ofKinds(['retract'], asOf)) {
    if (r.kind !== 'retract') continue
    const [map, k] = r.target !== undefined ? [out.byTarget, r.target] : [out.bySource, r.source!]
    const list = map.get(k)
    if (list) list.push(r)
    else map.set(k, [r])
  }
  // In (hlc, id) order, so the first honoured retraction of a record is the earliest.
  for (const map of [out.byTarget, out.bySource]) for (const list of map.values()) list.sort(compareRecords)
  return out
}

/**
 * What the whole-store pass gave these candidates: the retraction cascade over them and everything
 * they stand on (direct retractions of a record, then of its source, the earliest honoured one
 * first), the votes on them with the votes' own retractions, and the assertions about other pairs
 * that supersede them (`steme query` honours those too), with what those stand on in the cascade.
 * At a --valid-at date, a superseder whose `valid` range does not cover it replaced nothing then:
 * it is left out here, as `supersession` would leave it out, so nothing it stands on is read.
 */
async function batchContext(
  deps: Pick<Deps, 'store'>,
  batch: ContestedBatch,
  opts: {asOf?: string; validAt?: string; policy: Policy; retractions: Retractions},
): Promise<{retracted: Map<string, RetractionWhy>; votesByTarget: Map<string, Vote[]>; superseders: Map<string, Assertion[]>}> {
  const {store} = deps
  const inScope = (r: {hlc: string}) => opts.asOf === undefined || r.hlc <= opts.asOf
  const cands = batch.groups.flat()
  // The candidates (and superseders, once read) are at hand: only what they stand on is read.
  // Built only when something is looked up by id: most batches of most stores stand on nothing
  // and are pointed at by nothing, and a map of 4,096 ids is most of what such a batch costs here.
  let byId: Map<string, Assertion> | undefined
  const candById = () => (byId ??= new Map(cands.map((a) => [a.id, a])))
  const added = new Map<string, Assertion>()
  const get = async (ids: string[]) => {
    const held = ids.map((id) => candById().get(id) ?? added.get(id)).filter((a) => a !== undefined)
    const rest = ids.filter((id) => !candById().has(id) && !added.has(id))
    return [...held.map((record) => ({record})), ...(rest.length ? await store.get(rest) : [])]
  }
  const withEvidence = cands.filter((a) => a.evidence?.length).map((a) => a.id)
  // What points at candidates that some vote or retraction targets, or an assertion about another pair supersedes.
  const asked = batch.targeted.size || batch.supersededElsewhere.size ? cands.filter((a) => batch.targeted.has(a.id) || batch.supersededElsewhere.has(a.id)).map((a) => a.id) : []
  const [ancestors, refs] = await Promise.all([withEvidence.length ? walkLineage(get, withEvidence, opts.asOf) : Promise.resolve([]), asked.length ? store.referencing(asked) : Promise.resolve([])])
  // Superseders in scope about other pairs (a candidate of another pair of this batch may be one).
  const superseders = new Map<string, Assertion[]>()
  for (const r of refs) {
    if (r.kind !== 'assertion' || !r.supersedes || !inScope(r)) continue
    if (opts.validAt !== undefined && !validAt(r, opts.validAt)) continue
    for (const old of r.supersedes) {
      const o = candById().get(old)
      if (!o || (o.subject === r.subject && o.predicate === r.predicate)) continue
      const list = superseders.get(old)
      if (list) list.push(r)
      else superseders.set(old, [r])
      if (!candById().has(r.id)) added.set(r.id, r)
    }
  }
  const addedEvidence = [...added.values()].filter((a) => a.evidence?.length).map((a) => a.id)
  const further = addedEvidence.length ? await walkLineage(get, addedEvidence, opts.asOf) : []
  // The graph the cascade runs on; most batches stand on nothing beyond their candidates.
  let graph: Map<string, Assertion> | undefined
  const nodesOf = () => {
    if (graph) return graph
    if (!ancestors.length && !added.size && !further.length) return (graph = candById())
    graph = new Map<string, Assertion>()
    for (const a of [...cands, ...ancestors, ...added.values(), ...further]) graph.set(a.id, a)
    return graph
  }
  const votesByTarget = new Map<string, Vote[]>()
  for (const r of refs) {
    if (r.kind !== 'vote' || !inScope(r) || !candById().has(r.target)) continue
    const list = votesByTarget.get(r.target)
    if (list) list.push(r)
    else votesByTarget.set(r.target, [r])
  }
  for (const list of votesByTarget.values()) list.sort(compareRecords)
  const direct = new Map<string, RetractionWhy>()
  // Retractions by target: only a store that holds some has authors to look up.
  if (opts.retractions.byTarget.size) {
    const nodes = nodesOf()
    // Evidence that is no assertion in scope still falls when a retraction names it.
    const outside = [...new Set([...nodes.values()].flatMap((a) => a.evidence ?? []))].filter((id) => !nodes.has(id))
    const author = new Map<string, string>([...nodes.values()].map((a) => [a.id, a.agent]))
    const askOutside = outside.filter((id) => opts.retractions.byTarget.has(id))
    for (const {record: r} of askOutside.length ? await store.get(askOutside) : []) if (inScope(r) && (r.kind === 'vote' || r.kind === 'retract')) author.set(r.id, r.agent)
    for (const list of votesByTarget.values()) for (const v of list) author.set(v.id, v.agent)
    const voteIds = [...votesByTarget.values()].flat().map((v) => v.id)
    const retractions = [...nodes.keys(), ...outside, ...voteIds].flatMap((id) => opts.retractions.byTarget.get(id) ?? [])
    for (const r of [...new Map(retractions.map((r) => [r.id, r])).values()].sort(compareRecords)) {
      if (!direct.has(r.target!) && honours(opts.policy, r, author.get(r.target!))) direct.set(r.target!, {by: 'target', retraction: r.id, agent: r.agent})
    }
  }
  // A source retraction is honoured per record: its author's own assertions, or everyone's when the author is trusted here.
  if (opts.retractions.bySource.size) {
    for (const a of nodesOf().values()) {
      const s = a.source === undefined || direct.has(a.id) ? undefined : firstHonoured(opts.retractions.bySource.get(a.source), opts.policy, a.agent)
      if (s) direct.set(a.id, {by: 'source', retraction: s.id, agent: s.agent, source: s.source!})
    }
  }
  return {retracted: direct.size ? cascade(nodesOf().values(), direct) : new Map(), votesByTarget, superseders}
}
