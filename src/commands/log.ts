import {Args, Flags} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {hlcBound} from '../core/hlc.js'
import type {SignedRecord} from '../core/record.js'
import {hasRecords, logBatches, notEmpty, patternNote, sameLookingNotes} from '../ops/log.js'
import {JsonListWriter, writeOut} from '../stdout.js'
import {field, shown, tableRows, visible} from '../ui/table.js'

/** What a record says, in one line: its text fields bare (through field()), its value as JSON. */
function summary(r: SignedRecord): string {
  switch (r.kind) {
    case 'assertion':
      return `${field(r.subject)} ${field(r.predicate)} = ${JSON.stringify(r.value)} (c=${r.confidence}${r.source ? ', ' + field(r.source) : ''})`
    case 'vote':
      return `vote ${r.weight > 0 ? 'up' : r.weight < 0 ? 'down' : 'withdraw'} ${r.target.slice(0, 12)}`
    case 'retract':
      return `retract ${r.target ? r.target.slice(0, 12) : 'source ' + field(r.source ?? '')}${r.reason ? ': ' + field(r.reason) : ''}`
    case 'epoch':
      return `epoch ${field(r.name)} starts ${field(r.starts)}`
    case 'trust':
      return `trust ${r.target.slice(0, 12)} ${r.weight}`
  }
}

/** Column widths of the listing, fixed so rows print as they are read: stamps, short ids and kinds have known widths. */
const WIDTHS = [21, 12, 9, 12, 60]

export default class Log extends StemeCommand {
  static summary = 'List records in hlc order, optionally for one subject'
  static description = 'Records print as they are read, so `steme log | head` answers at once on a store of any size, and stops when the reader does.'
  static examples = ['<%= config.bin %> log', '<%= config.bin %> log drug:aspirin --limit 20 --json']
  static args = {subject: Args.string({description: 'only assertions about this subject'})}
  static flags = {
    limit: Flags.integer({char: 'n', description: 'at most this many records', min: 1}),
    since: Flags.string({description: 'only records stamped after this date or hlc'}),
    ...StemeCommand.remoteFlags,
  }

  // Prints as it reads, --json included (the same text as `{"records": [...]}` printed whole), so it returns nothing to print after.
  async run(): Promise<void> {
    const {args, flags} = await this.parse(Log)
    notEmpty(args.subject, 'subject', '`steme log drug:aspirin`')
    const t = await this.target(flags, {readOnly: true, dbThreads: 1})
    const input = {subject: args.subject, limit: flags.limit, since: flags.since === undefined ? undefined : hlcBound(flags.since, '--since')}
    // Nothing is printed before the first batch is read: an error before it (a daemon that does not answer) prints alone.
    const json = this.jsonEnabled() ? new JsonListWriter('records') : undefined
    const header = ['HLC', 'ID', 'KIND', 'AGENT', 'WHAT']
    let printed = false
    for await (const records of t.remote ? t.remote.logPages(input) : logBatches(t.rt, input)) {
      if (json) await json.items(records)
      else if (records.length) await writeOut(tableRows(WIDTHS, [...(printed ? [] : [header]), ...records.map((r) => [r.hlc, r.id.slice(0, 12), r.kind, r.agent.slice(0, 12), shown(summary(r))])]) + '\n')
      printed ||= records.length > 0
    }
    if (json) await json.end()
    // A bare header read as a listing cut short: say what there is none of.
    else if (!printed) await writeOut(`no records${args.subject === undefined ? '' : ` about ${field(args.subject)}`}${flags.since === undefined ? '' : ` since ${field(flags.since)}`}` + '\n')
    if (args.subject !== undefined) for (const n of await sameLookingNotes(args.subject, hasRecords(t))) this.note(visible(`note: ${n}`))
    const pattern = !printed && args.subject !== undefined ? patternNote(args.subject) : undefined
    if (pattern) this.note(pattern)
  }
}
