/** How much of what the extractors observe is covered by claims, per directory. */
import {extractAll} from '../claims/extract.js'
import {loadClaims, repoRoot} from '../claims/load.js'
import {key} from '../claims/observation.js'
import {openRepo} from '../claims/repo.js'
import {commitHook} from './hook.js'

export interface CoverageInput {
  cwd: string
  claims?: string
  staged?: boolean
}

export interface CoverageRow {
  dir: string
  observations: number
  claimed: number
  /** Claimed share in [0, 1]. */
  ratio: number
  /** Predicates observed here that no claim covers, a few, as hints for the next claim. */
  unclaimed: string[]
}

export interface CoverageResult {
  root: string
  rows: CoverageRow[]
  total: Omit<CoverageRow, 'dir' | 'unclaimed'>
  /** Said when the repo has no claims file yet: nothing is claimed, so every observation is a candidate. */
  notes?: string[]
}

export async function coverageOp(input: CoverageInput): Promise<CoverageResult> {
  const root = repoRoot(input.cwd)
  const repo = openRepo(root, {staged: !!input.staged})
  const files = await repo.list()
  // No claims file yet is where coverage starts: everything observed is a candidate for a first claim.
  const {claims, missing} = await loadClaims(root, input.claims, repo, files, {hook: () => commitHook(root), noFile: 'empty'})
  const ex = await extractAll(repo, claims, files)
  const covered = new Set(claims.claims.map((c) => key(c.subject, c.predicate)))
  const dirs = new Map<string, {observations: number; claimed: number; unclaimed: Set<string>}>()
  for (const o of ex.observations) {
    if (!o.file) continue
    const dir = o.file.includes('/') ? o.file.slice(0, o.file.lastIndexOf('/')) : '.'
    let d = dirs.get(dir)
    if (!d) dirs.set(dir, (d = {observations: 0, claimed: 0, unclaimed: new Set()}))
    d.observations++
    if (covered.has(key(o.subject, o.predicate))) d.claimed++
    else if (d.unclaimed.size < 5) d.unclaimed.add(`${o.subject} ${o.predicate}`)
  }
  const rows = [...dirs.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([dir, d]) => ({dir, observations: d.observations, claimed: d.claimed, ratio: d.observations ? d.claimed / d.observations : 0, unclaimed: [...d.unclaimed]}))
  const observations = rows.reduce((t, r) => t + r.observations, 0)
  const claimed = rows.reduce((t, r) => t + r.claimed, 0)
  const notes = missing
    ? [`no claims file at ${claims.path} yet, so nothing is claimed: every observation below is a candidate; add the first claim with \`steme claims add\` (see docs/claims.md)`]
    : undefined
  return {root, rows, total: {observations, claimed, ratio: observations ? claimed / observations : 0}, ...(notes ? {notes} : {})}
}
