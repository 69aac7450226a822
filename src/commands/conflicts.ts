import {Flags} from '@oclif/core'
import {SELF_IN_LENS, StemeCommand} from '../command.js'
import {conflictsOp} from '../ops/conflicts.js'
import {answerCell, table} from '../ui/table.js'
import {visible} from '../core/text.js'

export default class Conflicts extends StemeCommand {
  static summary = 'List the most contested (subject, predicate) pairs, by conflict score'
  static description = `The lens expression's conflict score ranks the pairs (docs/lenses.md).

${SELF_IN_LENS}`
  static examples = ['<%= config.bin %> conflicts', '<%= config.bin %> conflicts --min-score 0.5 --lens trust --json']
  static flags = {
    'min-score': Flags.string({description: 'only pairs with a conflict score at least this, in [0, 1]', default: '0'}),
    lens: Flags.string({char: 'l', description: 'lens expression whose conflict score ranks the pairs', default: 'consensus'}),
    limit: Flags.integer({char: 'n', description: 'at most this many pairs', min: 1}),
    'as-of': Flags.string({description: 'as the store knew it at this date or hlc'}),
    ...StemeCommand.remoteFlags,
  }

  async run(): Promise<Awaited<ReturnType<typeof conflictsOp>>> {
    const {flags} = await this.parse(Conflicts)
    const min = Number(flags['min-score'])
    if (flags['min-score'].trim() === '' || !(min >= 0 && min <= 1)) this.error(`--min-score must be a number in [0, 1], got "${flags['min-score']}"`, {exit: 2})
    const t = await this.target(flags, {readOnly: true})
    const input = {minScore: min, lens: flags.lens, limit: flags.limit, asOf: flags['as-of']}
    const res = t.remote ? await t.remote.conflicts(input) : await conflictsOp(t.rt, input)
    for (const n of res.notes ?? []) this.note(visible(`note: ${n}`))
    if (res.conflicts.length === 0) this.out(`no contested pairs${min > 0 ? ` at conflict >= ${min}` : ''} among ${res.pairs}`)
    else
      this.out(
        table(
          ['SUBJECT', 'PREDICATE', 'CONFLICT', 'VALUES', 'WINNER', 'CAMPS'],
          res.conflicts.map((c) => [c.subject, c.predicate, c.conflict.toFixed(2), c.values, answerCell(c.winner, c.status), c.top.map((t) => `${t.value} ${(t.probability * 100).toFixed(0)}%`).join(' | ')]),
        ),
      )
    return res
  }
}
