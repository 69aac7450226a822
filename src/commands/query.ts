import {Args, Flags} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {queryOp, type QueryResult} from '../ops/query.js'
import {bold, dim, table} from '../ui/table.js'

export default class Query extends StemeCommand {
  static summary = 'Answer a question about a subject through a lens, and say why'
  static examples = [
    '<%= config.bin %> query drug:aspirin',
    '<%= config.bin %> query drug:aspirin bleeding_rate --all',
    '<%= config.bin %> query drug:aspirin bleeding_rate --as-of 2026-01-01 --json',
  ]
  static args = {
    subject: Args.string({required: true, description: 'the subject to resolve'}),
    predicate: Args.string({description: 'one predicate (default: every predicate of the subject)'}),
  }
  static flags = {
    lens: Flags.string({char: 'l', description: 'lens to resolve conflicts with (default: the store config, else recency)'}),
    all: Flags.boolean({char: 'a', description: 'list every candidate value with its score, not only the winner'}),
    explain: Flags.boolean({char: 'e', description: 'say why the winner won'}),
    'as-of': Flags.string({description: 'what the store knew then: only records stamped up to this date or hlc'}),
    'valid-at': Flags.string({description: 'what held in the world at this date (from assertions\' valid ranges)'}),
    ...StemeCommand.remoteFlags,
  }

  async run(): Promise<QueryResult> {
    const {args, flags} = await this.parse(Query)
    const t = await this.target(flags, {readOnly: true})
    const input = {subject: args.subject, predicate: args.predicate, lens: flags.lens, asOf: flags['as-of'], validAt: flags['valid-at']}
    const res = t.remote ? await t.remote.query(input) : await queryOp(t.rt, input)
    if (this.jsonEnabled()) return res
    if (res.resolutions.length === 0) {
      this.out(`no assertions about ${args.subject}${args.predicate ? ' ' + args.predicate : ''}`)
      return res
    }
    const rows = res.resolutions.map((r) => [r.predicate, r.winner ? r.winner.key : '(none)', r.winner ? r.winner.probability.toFixed(2) : '-', r.conflict.toFixed(2), r.candidates.length])
    this.out(bold(`${res.subject}`) + dim(`  (lens ${res.lens}${res.asOf ? `, as of ${res.asOf}` : ''})`))
    this.out(table(['PREDICATE', 'VALUE', 'P', 'CONFLICT', 'VALUES'], rows))
    for (const r of res.resolutions) {
      if (flags.all) {
        this.out('')
        this.out(bold(r.predicate))
        this.out(table(['VALUE', 'SCORE', 'P', 'AGENTS', 'IDS'], r.candidates.map((c) => [c.key, c.score.toFixed(3), c.probability.toFixed(2), c.agents, c.ids.map((i) => i.slice(0, 12)).join(' ')])))
      }
      if (flags.explain) for (const line of r.explanation) this.out(`  ${r.predicate}: ${line}`)
    }
    return res
  }
}
