/** The whole-store `steme conflicts` pass the SQL-driven op replaced, kept as the reference its results must equal. */
import {hlcBound, parseDate} from '../../src/core/hlc.js'
import type {Assertion, Retract, Vote} from '../../src/core/record.js'
import {compareRecords} from '../../src/core/store.js'
import {cascade} from '../../src/lenses/cascade.js'
import {lifecycle} from '../../src/lenses/filters.js'
import {compile, resolve} from '../../src/lenses/registry.js'
import type {Expression} from '../../src/lenses/expression.js'
import type {LensContext, Resolution, RetractionWhy} from '../../src/lenses/types.js'
import {conflictOf, valueKey} from '../../src/lenses/values.js'
import {conflictRow, type ConflictRow, type ConflictsInput, type conflictsOp} from '../../src/ops/conflicts.js'
import {gatherPolicy, honours, lensParams, selfOf, supersession, supersessionOverTime, type Policy} from '../../src/ops/context.js'
import type {Deps} from '../../src/ops/deps.js'
import {learnReliability} from '../../src/ops/reliability.js'

type Result = Awaited<ReturnType<typeof conflictsOp>>

/** How often the validity rule moved an undated score here, so a test can show its stores exercise it. */
export const validityStats = {rescored: 0, dropped: 0}

/**
 * The conflict score without --valid-at, the slow way: at every instant where the set of
 * assertions holding could change (each `valid` end of a candidate or of an assertion that
 * supersedes one, and one before them all), the pair resolved as at that --valid-at date,
 * supersession included (a superseding assertion supersedes only where its range holds); the highest.
 */
function conflictAcrossInstants(res: Resolution, expr: Expression, cands: readonly Assertion[], others: readonly Assertion[], ctx: LensContext & {policy: Policy}): number {
  const ends = [...new Set([...cands, ...others].flatMap((a) => [a.valid?.from, a.valid?.to].filter((d) => d !== undefined)))]
  if (!ends.length) return res.conflict
  const instants = [...ends, new Date(Math.min(...ends.map(parseDate)) - 1).toISOString()]
  return Math.max(...instants.map((t) => resolve(expr, cands, {...ctx, validAt: t, superseded: supersession(cands, ctx.retracted, ctx.policy, others, t)}).conflict))
}

/** One pass over the store: the retraction cascade and supersession are computed store-wide, then each pair is resolved. */
export async function referenceConflicts(deps: Pick<Deps, 'store' | 'config'> & Partial<Pick<Deps, 'key'>>, input: ConflictsInput = {}): Promise<Result> {
  const expr = compile(input.lens ?? 'consensus', lensParams(deps.config.raw))
  const asOf = input.asOf === undefined ? undefined : hlcBound(input.asOf)
  const validAt = input.validAt
  const self = selfOf(deps)
  const {policy, epochs} = await gatherPolicy(deps, {asOf, self})
  const groups = new Map<string, Assertion[]>()
  const author = new Map<string, string>()
  const retractions: Retract[] = []
  const votesByTarget = new Map<string, Vote[]>()
  const all: Assertion[] = []
  for await (const batch of deps.store.scan({kinds: ['assertion', 'vote', 'retract'], until: asOf, batch: 8192})) {
    for (const {record: r} of batch) {
      author.set(r.id, r.agent)
      if (r.kind === 'assertion') {
        all.push(r)
        const k = `${r.subject}\u0000${r.predicate}`
        const g = groups.get(k)
        if (g) g.push(r)
        else groups.set(k, [r])
      } else if (r.kind === 'retract') retractions.push(r)
      else if (r.kind === 'vote') {
        const list = votesByTarget.get(r.target)
        if (list) list.push(r)
        else votesByTarget.set(r.target, [r])
      }
    }
  }
  const direct = new Map<string, RetractionWhy>()
  const bySource = new Map<string, Retract[]>()
  for (const r of retractions.sort(compareRecords)) {
    if (r.target !== undefined && !direct.has(r.target) && honours(policy, r, author.get(r.target))) direct.set(r.target, {by: 'target', retraction: r.id, agent: r.agent})
    if (r.source !== undefined) bySource.set(r.source, [...(bySource.get(r.source) ?? []), r])
  }
  // A source retraction is honoured per assertion: for its author's own, or for all when the author is trusted.
  for (const a of all) {
    const s = a.source === undefined ? undefined : (bySource.get(a.source) ?? []).find((r) => honours(policy, r, a.agent))
    if (s && !direct.has(a.id)) direct.set(a.id, {by: 'source', retraction: s.id, agent: s.agent, source: s.source!})
  }
  const retracted = cascade(all, direct)
  // Supersession store-wide too: `supersedes` names assertions, whatever pair the superseder is about.
  const supersedersOf = new Map<string, Assertion[]>()
  for (const a of all) for (const old of a.supersedes ?? []) supersedersOf.set(old, [...(supersedersOf.get(old) ?? []), a])
  const reliability = new Map<string, Awaited<ReturnType<typeof learnReliability>>['table']>()
  const minScore = input.minScore ?? 0
  const rows: ConflictRow[] = []
  const trust = new Map([...policy.scores].map(([a, s]) => [a, s.score]))
  let seen = 0
  for (const cands of groups.values()) {
    // Resolving every pair is CPU work over the whole store: yield now and then so a daemon keeps serving other requests.
    if (++seen % 256 === 0) await new Promise<void>((r) => setImmediate(r))
    if (new Set(cands.map(valueKey)).size < 2) continue
    const others = [...new Set(cands.flatMap((a) => supersedersOf.get(a.id) ?? []))].filter((s) => !cands.includes(s))
    const {superseded, supersededWhile} = supersessionOverTime(cands, retracted, policy, others, validAt)
    const votes = cands.flatMap((a) => votesByTarget.get(a.id) ?? []).filter((v) => !retracted.has(v.id))
    const ctx = {now: input.now ?? Date.now(), asOf, validAt, votes, retracted, superseded, ...(supersededWhile ? {supersededWhile} : {}), epochs, trust, self, params: lensParams(deps.config.raw)}
    // Without a date, a value superseded only from a date on still counts before it: the instants decide.
    if (new Set(lifecycle(cands, validAt === undefined ? {...ctx, superseded: new Map()} : ctx).map(valueKey)).size < 2) continue
    const predicate = cands[0].predicate
    if (expr.chain.some((s) => s.lens === 'reliability') && !reliability.has(predicate)) reliability.set(predicate, (await learnReliability(deps, predicate, asOf)).table)
    const lensRes = resolve(expr, cands, {...ctx, reliability: reliability.get(predicate)})
    // Two values conflict only where their `valid` ranges overlap; at a --valid-at date every candidate holds.
    const res = validAt === undefined ? {...lensRes, conflict: conflictAcrossInstants(lensRes, expr, cands, others, {...ctx, policy, reliability: reliability.get(predicate)})} : lensRes
    if (validAt === undefined && res.conflict !== conflictOf(res.candidates)) {
      validityStats.rescored++
      if (res.conflict === 0) validityStats.dropped++
    }
    if (res.conflict < minScore || res.conflict === 0) continue
    rows.push(conflictRow(res))
  }
  rows.sort((a, b) => b.conflict - a.conflict || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : a.predicate < b.predicate ? -1 : 1))
  return {lens: expr.text, ...(asOf !== undefined ? {asOf} : {}), ...(validAt !== undefined ? {validAt} : {}), minScore, pairs: groups.size, conflicts: rows.slice(0, input.limit ?? rows.length)}
}
