/** Claims' `matches` patterns tested against observed values under the regex time budget, as regex extractors are. */
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

export interface PatternCase {
  claim: Claim
  observed: readonly Observation[]
}

/**
 * Test the patterns that could backtrack on the scanner's thread, under the budget: `^(a+)+$`
 * against a long run of a's taken from a file would otherwise hang verify, and so the commit.
 * Patterns that cannot backtrack are left to check(), inline, as literal extractors are. By claim id.
 */
export async function testPatterns(cases: readonly PatternCase[], budgetMs: number, start: (budgetMs: number) => Scanner = startScanner): Promise<Map<string, PatternTests>> {
  const {jobs, owners} = patternJobs(cases)
  const out = new Map<string, PatternTests>()
  if (!jobs.length) return out
  const scanner = start(budgetMs)
  try {
    // One claim's values are a group: a pattern that blew the budget on one is not run on the rest.
    const outcomes = await scanner.run(jobs, (i) => owners[i].c)
    outcomes.forEach((o, i) => {
      const {c, text, at} = owners[i]
      const claim = cases[c].claim
      let t = out.get(claim.id)
      if (!t) out.set(claim.id, (t = {matched: new Map()}))
      if ('hits' in o) t.matched.set(text, o.hits.n > 0)
      else t.stopped ??= stopReason(claim, at, budgetMs, o)
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
  const on = `the value observed at ${where(at)}`
  const file = at.file ? {file: at.file} : {}
  if ('error' in o) return {by: 'expect', ...file, cause: 'error', detail: `${what} failed on ${on} (${o.error}); fix the pattern`}
  return {by: 'expect', ...file, cause: 'timeout', detail: `${what} ran over the ${budgetMs} ms budget on ${on} and was stopped; raise settings.regex_timeout_ms or make the pattern cheaper`}
}
