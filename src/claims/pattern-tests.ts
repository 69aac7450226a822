/** Claims' `matches` patterns tested against observed values under the regex time budget, as regex extractors are. */
import {createHash} from 'node:crypto'
import {field} from '../core/text.js'
import {matchText} from './compare.js'
import type {Claim} from './file.js'
import {where, type Observation} from './observation.js'
import {couldBacktrack, startScanner, type ScanJob, type Scanner} from './regex-scan.js'
import type {Unchecked} from './verdict.js'

/** A claim's `matches` pattern on its observed values: whether each matched, and what stopped it, if anything. */
export interface PatternTests {
  /** By observed text (see matchText); a text that is not here was not tested. */
  matched: Map<string, boolean>
  stopped?: Unchecked
}

/**
 * Outcomes of earlier tests, by testKey: the hook runs on every commit, mostly on the same values,
 * and a scanner thread costs 30-40 ms of CPU to start. Only completed tests are kept (matched or
 * not): a test that was stopped or failed is retried next run.
 */
export interface PatternCache {
  get(key: string): boolean | undefined
  set(key: string, matched: boolean): void
}

const MAX_KEY_TEXT = 200

/** What a test's outcome depends on: the pattern's source and flags, and the text (hashed when long, so the cache stays small). */
export function testKey(job: Pick<ScanJob, 'source' | 'flags' | 'text'>): string {
  const {source, flags, text} = job
  // A hashed text has one more element than a literal one: the two never collide.
  if (text.length <= MAX_KEY_TEXT) return JSON.stringify([source, flags, text])
  return JSON.stringify([source, flags, text.length, createHash('sha256').update(text).digest('base64url')])
}

export interface PatternCase {
  claim: Claim
  observed: readonly Observation[]
}

/**
 * Test the patterns that could backtrack on the scanner's thread, under the budget: `^(a+)+$`
 * against a long run of a's taken from a file would otherwise hang verify, and so the commit.
 * Patterns that cannot backtrack are left to check(), inline, as literal extractors are. By claim id.
 */
export async function testPatterns(cases: readonly PatternCase[], budgetMs: number, opts: {cache?: PatternCache; start?: (budgetMs: number) => Scanner} = {}): Promise<Map<string, PatternTests>> {
  const {jobs, owners} = patternJobs(cases)
  const out = new Map<string, PatternTests>()
  const testsOf = (i: number) => {
    const id = cases[owners[i].c].claim.id
    let t = out.get(id)
    if (!t) out.set(id, (t = {matched: new Map()}))
    return t
  }
  const keys = jobs.map(testKey)
  const todo: number[] = []
  keys.forEach((k, i) => {
    const matched = opts.cache?.get(k)
    if (matched === undefined) todo.push(i)
    else testsOf(i).matched.set(owners[i].text, matched)
  })
  // Every outcome known from earlier runs: no thread to start.
  if (!todo.length) return out
  const scanner = (opts.start ?? startScanner)(budgetMs)
  try {
    // One claim's values are a group: a pattern that blew the budget on one is not run on the rest.
    const outcomes = await scanner.run(
      todo.map((i) => jobs[i]),
      (j) => owners[todo[j]].c,
    )
    outcomes.forEach((o, j) => {
      const i = todo[j]
      const t = testsOf(i)
      if ('hits' in o) {
        t.matched.set(owners[i].text, o.hits.n > 0)
        opts.cache?.set(keys[i], o.hits.n > 0)
      } else t.stopped ??= stopReason(cases[owners[i].c].claim, owners[i].at, budgetMs, o)
    })
  } finally {
    await scanner.close()
  }
  return out
}

/** A test per distinct observed text of each `matches` claim whose pattern could backtrack, and whose it is. */
function patternJobs(cases: readonly PatternCase[]) {
  const jobs: ScanJob[] = []
  const owners: {c: number; text: string; at: Observation}[] = []
  cases.forEach(({claim, observed}, c) => {
    if (claim.compare !== 'matches' || !couldBacktrack(claim.pattern!.source)) return
    const seen = new Set<string>()
    for (const o of observed) {
      const text = matchText(o.value)
      if (seen.has(text)) continue
      seen.add(text)
      jobs.push({source: claim.pattern!.source, flags: claim.pattern!.flags + 'g', count: true, once: true, text})
      owners.push({c, text, at: o})
    }
  })
  return {jobs, owners}
}

/** Why a claim whose pattern was stopped is unchecked, and what would let it be checked. */
function stopReason(claim: Claim, at: Observation, budgetMs: number, o: {timedOut: true} | {error: string}): Unchecked {
  const what = `its pattern /${claim.pattern!.source}/`
  const on = `the value observed at ${field(where(at))}`
  const file = at.file ? {file: at.file} : {}
  if ('error' in o) return {by: 'expect', ...file, cause: 'error', detail: `${what} failed on ${on} (${o.error}); fix the pattern`}
  return {by: 'expect', ...file, cause: 'timeout', detail: `${what} ran over the ${budgetMs} ms budget on ${on} and was stopped; raise settings.regex_timeout_ms or make the pattern cheaper`}
}
