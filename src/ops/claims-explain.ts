/** Render the claims as a markdown page: verify them now, and attribute each to its author with git blame. */
import {resolve} from 'node:path'
import {blame, renderExplain} from '../claims/explain.js'
import {verifyOp, type VerifyDeps, type VerifyInput} from './verify.js'

export interface ClaimsExplainResult {
  markdown: string
  claims: number
  /** The claims file rendered (absolute). */
  path: string
  /** With a baseline: the claims whose failure it accepts (known), and those it lists that pass now (fixed). */
  baseline?: {path: string; known: string[]; fixed: string[]}
  /** What verify warned about (a file it could not read, an extract that matched nothing): only when there is any. */
  warnings?: string[]
}

export async function claimsExplainOp(deps: VerifyDeps, input: Pick<VerifyInput, 'cwd' | 'claims' | 'baseline'>): Promise<ClaimsExplainResult> {
  const res = await verifyOp(deps, {cwd: input.cwd, claims: input.claims, baseline: input.baseline})
  const authors = res.claimsFile.startsWith('/') ? new Map() : blame(res.root, res.claimsFile)
  const out: ClaimsExplainResult = {markdown: renderExplain(res, authors), claims: res.verdicts.length, path: resolve(res.root, res.claimsFile)}
  if (res.baseline) out.baseline = {path: res.baseline.path, known: res.verdicts.filter((v) => v.baseline === 'known').map((v) => v.id), fixed: res.baseline.fixed}
  if (res.warnings.length) out.warnings = res.warnings
  return out
}
