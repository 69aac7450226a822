import {Flags} from '@oclif/core'
import {unitNumber} from '../core/text.js'
import {SELF_IN_LENS, StemeCommand} from '../command.js'
import {conflictsOp, type ConflictsResult} from '../ops/conflicts.js'
import {answerCell, bold, dim, field, shown, table, visible} from '../ui/table.js'

export default class Conflicts extends StemeCommand {
  static summary = 'List the most contested (subject, predicate) pairs, by conflict score'
  static description = `The lens expression's conflict score ranks the pairs (docs/lenses.md).
Each pair's score, winner and camps are what \`steme query <subject>
<predicate>\` answers with the same lens, --as-of and --valid-at.

--as-of is what this store KNEW then (records stamped up to it).
--valid-at is what HELD IN THE WORLD then: a pair is contested at a date
when two of its values held then (by their valid ranges), and an assertion
supersedes another only at dates its own valid range covers. Without it,
values conflict only where their valid ranges overlap: a timeline ("1.2"
until July, "1.3" from July) is not a conflict, and the score is the
highest --valid-at gives at any one date: each stretch of time in which
the same assertions hold is resolved as at a date in it (docs/lenses.md,
Over time). A pair whose ranges cut time into more than 64 stretches
weighs its values as the lens does over all dates instead.

${SELF_IN_LENS}`
  static examples = [
    '<%= config.bin %> conflicts',
    '<%= config.bin %> conflicts --min-score 0.5 --lens trust --json',
    '<%= config.bin %> conflicts --valid-at 2025-06-01',
    '<%= config.bin %> conflicts --as-of 2026-01-01 --valid-at 2025-06-01 --limit 20',
  ]
  static flags = {
    'min-score': Flags.string({description: 'only pairs with a conflict score at least this, in [0, 1]', default: '0'}),
    lens: Flags.string({char: 'l', description: 'lens expression whose conflict score ranks the pairs', default: 'consensus'}),
    limit: Flags.integer({char: 'n', description: 'at most this many pairs', min: 1}),
    'as-of': Flags.string({description: 'what the store knew then: only records stamped up to this date or hlc'}),
    'valid-at': Flags.string({description: "what held in the world at this date (from assertions' valid ranges)"}),
    ...StemeCommand.remoteFlags,
  }

  async run(): Promise<ConflictsResult> {
    const {flags} = await this.parse(Conflicts)
    const min = unitNumber(flags['min-score'])
    if (min === undefined) this.error(`--min-score must be a number in [0, 1], got "${field(flags['min-score'])}"`, {exit: 2})
    const t = await this.target(flags, {readOnly: true})
    const input = {minScore: min, lens: flags.lens, limit: flags.limit, asOf: flags['as-of'], validAt: flags['valid-at']}
    const res = t.remote ? await t.remote.conflicts(input) : await conflictsOp(t.rt, input)
    for (const n of res.notes ?? []) this.note(visible(`note: ${n}`))
    if (this.jsonEnabled()) return res
    // As query heads its answer: the lens, and the times asked about, as typed (res.asOf is the hlc bound it became).
    const scope = `lens ${res.lens}${res.asOf ? `, as of ${flags['as-of'] ?? res.asOf}` : ''}${res.validAt ? `, valid at ${res.validAt}` : ''}`
    if (res.conflicts.length === 0) this.out(`no contested pairs${min > 0 ? ` at conflict >= ${min}` : ''} among ${res.pairs}` + dim(`  (${visible(scope)})`))
    else {
      this.out(bold('contested pairs') + dim(`  (${visible(scope)})`))
      this.out(
        table(
          ['SUBJECT', 'PREDICATE', 'CONFLICT', 'VALUES', 'WINNER', 'CAMPS'],
          res.conflicts.map((c) => [c.subject, c.predicate, c.conflict.toFixed(2), c.values, answerCell(c.winner, c.status), shown(c.top.map((t) => `${t.value} ${(t.probability * 100).toFixed(0)}%`).join(' | '))]),
        ),
      )
    }
    return res
  }
}
