import {Args, Flags} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {hlcBound} from '../core/hlc.js'
import type {SignedRecord} from '../core/record.js'
import {hasRecords, logOp, sameLookingNotes} from '../ops/log.js'
import {table, visible} from '../ui/table.js'

function summary(r: SignedRecord): string {
  switch (r.kind) {
    case 'assertion':
      return `${r.subject} ${r.predicate} = ${JSON.stringify(r.value)} (c=${r.confidence}${r.source ? ', ' + r.source : ''})`
    case 'vote':
      return `vote ${r.weight > 0 ? 'up' : r.weight < 0 ? 'down' : 'withdraw'} ${r.target.slice(0, 12)}`
    case 'retract':
      return `retract ${r.target ? r.target.slice(0, 12) : 'source ' + r.source}${r.reason ? ': ' + r.reason : ''}`
    case 'epoch':
      return `epoch ${r.name} starts ${r.starts}`
    case 'trust':
      return `trust ${r.target.slice(0, 12)} ${r.weight}`
  }
}

export default class Log extends StemeCommand {
  static summary = 'List records in hlc order, optionally for one subject'
  static examples = ['<%= config.bin %> log', '<%= config.bin %> log drug:aspirin --limit 20 --json']
  static args = {subject: Args.string({description: 'only assertions about this subject'})}
  static flags = {
    limit: Flags.integer({char: 'n', description: 'at most this many records', min: 1}),
    since: Flags.string({description: 'only records stamped after this date or hlc'}),
    ...StemeCommand.remoteFlags,
  }

  async run(): Promise<{records: SignedRecord[]}> {
    const {args, flags} = await this.parse(Log)
    const t = await this.target(flags, {readOnly: true})
    const input = {subject: args.subject, limit: flags.limit, since: flags.since === undefined ? undefined : hlcBound(flags.since, '--since')}
    const res = t.remote ? await t.remote.log(input) : await logOp(t.rt, input)
    if (!this.jsonEnabled()) this.out(table(['HLC', 'ID', 'KIND', 'AGENT', 'WHAT'], res.records.map((r) => [r.hlc, r.id.slice(0, 12), r.kind, r.agent.slice(0, 12), summary(r)])))
    if (args.subject !== undefined) for (const n of await sameLookingNotes(args.subject, hasRecords(t))) this.note(visible(`note: ${n}`))
    return res
  }
}
