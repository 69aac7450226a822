/** Render the claims as a markdown page: verify them now, and attribute each to its author with git blame. */
import {resolve} from 'node:path'
import {blame, renderExplain} from '../claims/explain.js'
import {verifyOp, type VerifyDeps, type VerifyInput} from './verify.js'

export interface ClaimsExplainResult {
  markdown: string
  claims: number
  /** The claims file rendered (absolute). */
  path: string
}

export async function claimsExplainOp(deps: VerifyDeps, input: Pick<VerifyInput, 'cwd' | 'claims'>): Promise<ClaimsExplainResult> {
  const res = await verifyOp(deps, {cwd: input.cwd, claims: input.claims})
  const authors = res.claimsFile.startsWith('/') ? new Map() : blame(res.root, res.claimsFile)
  return {markdown: renderExplain(res, authors), claims: res.verdicts.length, path: resolve(res.root, res.claimsFile)}
}
