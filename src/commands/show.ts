import {Args} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {showOp, type ShowResult} from '../ops/show.js'
import {field, visible} from '../ui/table.js'

export default class Show extends StemeCommand {
  static summary = 'Show one record: its content, signature status, what it cites and what cites it, and why it is retracted'
  static description =
    'Prints the record as it is stored (its JSON, with id and sig), whether its signature verifies, the records it cites ' +
    '(evidence, supersedes, the target of a vote or retraction) and the records that cite it, and its state: live, superseded (by what) ' +
    'or retracted (by which retraction, and through which chain of evidence or source); a live assertion that a retraction names which this store ' +
    'does not honour (its author is not trusted here) says whose it is and why it was set aside. A retraction says whether it takes effect here ' +
    '(yes, no, or for its author\'s own records only) and why. The id can be the 12 characters `steme log` prints.'
  static examples = ['<%= config.bin %> show 3f2a9c1b07e4', '<%= config.bin %> show 3f2a9c1b07e4 --json']
  static args = {id: Args.string({required: true, description: 'the record id: 64 hex chars, or the first 6 or more when only one id starts with them'})}
  static flags = {...StemeCommand.remoteFlags}

  async run(): Promise<ShowResult> {
    const {args, flags} = await this.parse(Show)
    const t = await this.target(flags, {readOnly: true, dbThreads: 1})
    const res = t.remote ? await t.remote.show(args.id) : await showOp(t.rt, {id: args.id})
    // JSON already escapes C0 controls; visible() adds DEL, C1 and bidi controls, still as JSON escapes.
    // Line by line: the newlines of the layout are the only raw controls, and they stay newlines.
    this.out(JSON.stringify(res.record, null, 2).split('\n').map(visible).join('\n'))
    // Through --remote every word here is the daemon's: each is a field, escaped once.
    const f = (x: unknown) => field(String(x))
    this.out(`signature: ${f(res.signature)}`)
    for (const c of res.cites) this.out(`cites (${f(c.rel)}): ${f(c.id)}${c.found ? '' : '  [not in this store]'}`)
    if (res.record.kind === 'trust') this.out(`endorses agent: ${f(res.record.target)} (weight ${f(res.record.weight)})`)
    // An assertion cites by evidence or supersedes; a vote or a retraction is its own relation.
    for (const c of res.citedBy) this.out(`cited by ${f(c.kind)}${c.rel === c.kind ? '' : ` (${f(c.rel)})`}: ${f(c.id)}`)
    if (res.state) this.out(`state: ${f(res.state)}`)
    for (const line of res.why ?? []) this.out(visible(`  ${line}`))
    if (res.effect) {
      this.out(`takes effect here: ${f(res.effect.here)}`)
      this.out(visible(`  ${res.effect.why}`))
    }
    if (res.signature !== 'valid') process.exitCode = 1
    return res
  }
}
