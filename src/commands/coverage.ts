import {Flags} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {coverageOp, type CoverageResult} from '../ops/coverage.js'
import {table} from '../ui/table.js'

export default class Coverage extends StemeCommand {
  static baseFlags = StemeCommand.storelessFlags
  static summary = 'Per directory: how many observations the extractors make, and how many of them a claim covers'
  static description =
    "The extractors (the built-in ones for common files and the claims file's [[extract]] entries) observe the repo; per directory, " +
    'coverage counts their observations and how many of them a claim checks. UNCLAIMED, E.G. names some that none does: candidates ' +
    'for `steme claims add`. A repo with no claims file yet is covered 0%: every observation is a candidate for its first claim. ' +
    '--staged observes the git index, as the pre-commit hook does. Reads no store.'
  static examples = ['<%= config.bin %> coverage', '<%= config.bin %> coverage --json', '<%= config.bin %> coverage --staged']
  static flags = {
    claims: Flags.string({description: 'claims file (default: .steme/claims.toml at the repo root)'}),
    staged: Flags.boolean({description: 'observe the git index rather than the working tree'}),
  }

  async run(): Promise<CoverageResult> {
    const {flags} = await this.parse(Coverage)
    const res = await coverageOp({cwd: process.cwd(), claims: flags.claims, staged: flags.staged})
    // On stderr, so --json output stays parseable.
    for (const n of res.notes ?? []) this.note(`note: ${n}`)
    const pct = (r: number) => `${Math.round(r * 100)}%`
    const rows = res.rows.map((r) => [r.dir, r.observations, r.claimed, pct(r.ratio), r.unclaimed.slice(0, 2).join(', ')])
    rows.push(['(total)', res.total.observations, res.total.claimed, pct(res.total.ratio), ''])
    this.out(table(['DIR', 'OBSERVED', 'CLAIMED', 'COVERED', 'UNCLAIMED, E.G.'], rows))
    return res
  }
}
