import {Flags} from '@oclif/core'
import {StemeCommand} from '../../command.js'
import {showValue} from '../../claims/compare.js'
import {lazyStore, verifyOp} from '../../ops/verify.js'
import {table} from '../../ui/table.js'

export interface ClaimRow {
  id: string
  subject: string
  predicate: string
  compare: string
  expect?: unknown
  severity: string
  status: string
  why?: string
}

export default class ClaimsList extends StemeCommand {
  static summary = 'List the claims with their current status'
  static examples = ['<%= config.bin %> claims list', '<%= config.bin %> claims list --staged --json']
  static flags = {
    claims: Flags.string({description: 'claims file (default: .steme/claims.toml at the repo root)'}),
    staged: Flags.boolean({description: 'status against the git index rather than the working tree'}),
  }

  async run(): Promise<{claims: ClaimRow[]}> {
    const {flags} = await this.parse(ClaimsList)
    const openStore = lazyStore(flags.store, process.env, (root) => this.open({store: flags.store, cwd: root, readOnly: true}))
    const res = await verifyOp({openStore}, {cwd: process.cwd(), claims: flags.claims, staged: flags.staged})
    const claims = res.verdicts.map((v) => ({id: v.id, subject: v.subject, predicate: v.predicate, compare: v.compare, expect: v.expect, severity: v.severity, status: v.status, why: v.why}))
    this.out(table(['ID', 'STATUS', 'SEVERITY', 'SUBJECT', 'PREDICATE', 'COMPARE', 'EXPECT'], claims.map((c) => [c.id, c.status, c.severity, c.subject, c.predicate, c.compare, c.expect === undefined ? '' : showValue(c.expect as never)])))
    return {claims}
  }
}
