import {Flags} from '@oclif/core'
import {StemeCommand} from '../../command.js'
import {baselineName} from '../../claims/baseline.js'
import {showValue} from '../../claims/compare.js'
import type {Verdict} from '../../claims/verdict.js'
import {lazyStore, verifyOp, type VerifyResult} from '../../ops/verify.js'
import {shown, table} from '../../ui/table.js'

export interface ClaimRow {
  id: string
  subject: string
  predicate: string
  compare: string
  expect?: unknown
  severity: string
  status: string
  /**
   * With a baseline: `known` for a failure it accepts (verify does not fail on it), `new` for one it
   * does not, `fixed` for a claim it lists that passes now (drop it with `verify --update-baseline`).
   */
  baseline?: 'known' | 'new' | 'fixed'
  why?: string
}

export default class ClaimsList extends StemeCommand {
  static summary = 'List the claims with their current status'
  static description = 'With a baseline (.steme/claims-baseline.json when it exists, or --baseline), each failure it accepts is marked (CONFLICT*, known in --json), as verify reports it.'
  static examples = ['<%= config.bin %> claims list', '<%= config.bin %> claims list --staged --json']
  static flags = {
    claims: Flags.string({description: 'claims file (default: .steme/claims.toml at the repo root)'}),
    staged: Flags.boolean({description: 'status against the git index rather than the working tree'}),
    baseline: Flags.string({description: 'mark the failures this baseline accepts (default: .steme/claims-baseline.json when it exists; with --staged, the copy in the index)'}),
  }

  async run(): Promise<{claims: ClaimRow[]; baseline?: {path: string}; warnings?: string[]}> {
    const {flags} = await this.parse(ClaimsList)
    const openStore = lazyStore(flags.store, process.env, (root) => this.open({store: flags.store, cwd: root, readOnly: true}))
    const res = await verifyOp({openStore}, {cwd: process.cwd(), claims: flags.claims, staged: flags.staged, baseline: flags.baseline})
    // The statuses listed depend on them (a file that could not be read, a baseline not staged): said, as verify says them.
    for (const w of res.warnings) this.note(`warning: ${w}`)
    const claims = res.verdicts.map((v) => ({id: v.id, subject: v.subject, predicate: v.predicate, compare: v.compare, expect: v.expect, severity: v.severity, status: v.status, ...baselineOf(v, res), why: v.why}))
    const headers = ['ID', 'STATUS', 'SEVERITY', 'SUBJECT', 'PREDICATE', 'COMPARE', 'EXPECT', ...(res.baseline ? ['BASELINE'] : [])]
    const rows = claims.map((c) => [c.id, c.status + (c.baseline === 'known' ? '*' : ''), c.severity, c.subject, c.predicate, c.compare, c.expect === undefined ? '' : shown(showValue(c.expect as never)), ...(res.baseline ? [c.baseline === 'known' ? 'accepted' : (c.baseline ?? '')] : [])])
    let text = table(headers, rows)
    // Without this line, a CONFLICT here would read as a failing verify, which the baseline says it is not.
    if (res.baseline) text += `\n\n* accepted in the baseline ${baselineName(res.root, res.baseline.path)} (verify does not fail on these); new: failing, not in it; fixed: in it, passing now (\`steme verify --update-baseline\` drops them)`
    this.out(text)
    return {claims, ...(res.baseline ? {baseline: {path: res.baseline.path}} : {}), ...(res.warnings.length ? {warnings: res.warnings} : {})}
  }
}

/** The claim's standing in the baseline verify read, if any: a failure accepted or not, or an entry that passes now. */
function baselineOf(v: Verdict, res: VerifyResult): {baseline?: ClaimRow['baseline']} {
  if (v.baseline) return {baseline: v.baseline}
  return res.baseline?.fixed.includes(v.id) ? {baseline: 'fixed'} : {}
}
