import {Flags} from '@oclif/core'
import {unitNumber} from '../core/text.js'
import {STRETCHES_MAX} from '../lenses/validity.js'
import {SELF_IN_LENS, StemeCommand} from '../command.js'
import {conflictsListingOp, conflictsOp, type ConflictRow, type ConflictsResult} from '../ops/conflicts.js'
import {writeOut} from '../stdout.js'
import {answerCell, bold, dim, field, shown, table, tableRows, visible, widen, type Cell} from '../ui/table.js'

const HEADERS = ['SUBJECT', 'PREDICATE', 'CONFLICT', 'VALUES', 'WINNER', 'CAMPS']
const EMPTY_LIST = '\n  "conflicts": []'
/** The mark on a score past the stretch cap, and the line under the table that says what it means. */
const CAPPED_MARK = '*'
const CAPPED_NOTE = `${CAPPED_MARK} the valid ranges (with the epoch starts and superseding assertions' ranges that count) cut time into more than ${STRETCHES_MAX} stretches, so the score is the lens's over all dates, which can be lower than some date's (\`steme query <subject> <predicate> --explain\` says so; --valid-at gives a date's own)`
/**
 * The mark on a score no value listed beside it could make (one value over all dates: the other
 * held only at dates before what supersedes it did), and the line that says which date to ask.
 */
const DATED_MARK = '†'
const DATED_NOTE = `${DATED_MARK} the score is that of a date when a value since superseded (or of another epoch) still held; VALUES, WINNER and CAMPS are the answer over all dates (\`steme query <subject> <predicate> --explain\` names the date, conflictAt in --json; --valid-at it gives that date's camps)`
const dated = (c: ConflictRow) => c.values < 2 && c.conflict > 0
const cells = (c: ConflictRow): Cell[] => [
  c.subject,
  c.predicate,
  c.conflict.toFixed(2) + (c.cappedStretches !== undefined ? CAPPED_MARK : '') + (dated(c) ? DATED_MARK : ''),
  c.values,
  answerCell(c.winner, c.status),
  shown(c.top.map((t) => `${t.value} ${(t.probability * 100).toFixed(0)}%`).join(' | ')),
]

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
the same assertions hold is resolved as at a date in it, supersession
included (a date before a superseding assertion held counts the one it
replaced; docs/lenses.md, Over time). A pair whose ranges cut time into more than 64 stretches
weighs its values as the lens does over all dates instead: its score is
marked * in the table (a line under it says so) and its row carries
cappedStretches (how many) in --json. A row's VALUES, WINNER and CAMPS are
the answer over all dates; its conflictAt in --json is a date that gives
the score, and a score marked † is one no value listed could make (the
other held only before what supersedes it did): --valid-at that date
gives its camps.

Without --limit every contested pair is listed: the ranking is sorted in
runs on disk, in the temporary directory (TMPDIR), so memory does not grow
with the number of pairs; through a daemon, its ranked pages are kept there
as they come.

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

  // With --limit the rows are few: the result prints whole. Without it the listing can be every
  // pair of the store: it is ranked on disk (through a daemon, its ranked pages are kept on disk as
  // they come) and printed as it is read back, --json included (the same text as the result printed whole).
  async run(): Promise<ConflictsResult | void> {
    const {flags} = await this.parse(Conflicts)
    const min = unitNumber(flags['min-score'])
    if (min === undefined) this.error(`--min-score must be a number in [0, 1], got "${field(flags['min-score'])}"`, {exit: 2})
    const t = await this.target(flags, {readOnly: true})
    const input = {minScore: min, lens: flags.lens, limit: flags.limit, asOf: flags['as-of'], validAt: flags['valid-at']}
    if (input.limit !== undefined) {
      const res = t.remote ? await t.remote.conflicts(input) : await conflictsOp(t.rt, input)
      for (const n of res.notes ?? []) this.note(visible(`note: ${n}`))
      if (this.jsonEnabled()) return res
      this.out(this.heading(res, flags['as-of'], res.conflicts.length === 0))
      if (res.conflicts.length) this.out(table(HEADERS, res.conflicts.map(cells)))
      if (res.conflicts.some((r) => r.cappedStretches !== undefined)) this.out(dim(CAPPED_NOTE))
      if (res.conflicts.some(dated)) this.out(dim(DATED_NOTE))
      return res
    }
    // The table's columns are as wide as their widest cell over the whole listing: measured as the rows are ranked.
    const widths = HEADERS.map(() => 0)
    const measure = !this.jsonEnabled()
    const onRow = measure ? (r: ConflictRow) => widen(widths, [cells(r)]) : undefined
    const listing = t.remote ? await t.remote.conflictsListing(input, {onRow}) : await conflictsListingOp(t.rt, input, {onRow})
    try {
      const {head} = listing
      for (const n of head.notes ?? []) this.note(visible(`note: ${n}`))
      if (this.jsonEnabled()) {
        // The result's own JSON with an empty list (its fields in the result's order: notes after the
        // list), the rows written into the list as they are read.
        const {notes, ...before} = head
        const whole = JSON.stringify({...before, conflicts: [], ...(notes ? {notes} : {})}, null, 2)
        const at = whole.indexOf(EMPTY_LIST) + EMPTY_LIST.length - 1
        if (listing.count === 0) return void (await writeOut(whole + '\n'))
        await writeOut(whole.slice(0, at))
        let first = true
        for await (const rows of listing.rows()) {
          let text = ''
          for (const r of rows) {
            text += (first ? '\n    ' : ',\n    ') + JSON.stringify(r, null, 2).replaceAll('\n', '\n    ')
            first = false
          }
          await writeOut(text)
        }
        await writeOut('\n  ' + whole.slice(at) + '\n')
        return
      }
      await writeOut(this.heading({...head, conflicts: []}, flags['as-of'], listing.count === 0) + '\n')
      if (listing.count === 0) return
      widen(widths, [HEADERS])
      await writeOut(tableRows(widths, [HEADERS]) + '\n')
      let capped = false
      let anyDated = false
      for await (const rows of listing.rows()) {
        capped ||= rows.some((r) => r.cappedStretches !== undefined)
        anyDated ||= rows.some(dated)
        await writeOut(tableRows(widths, rows.map(cells)) + '\n')
      }
      if (capped) await writeOut(dim(CAPPED_NOTE) + '\n')
      if (anyDated) await writeOut(dim(DATED_NOTE) + '\n')
    } finally {
      await listing.close()
    }
  }

  /** As query heads its answer: the lens, and the times asked about, as typed (res.asOf is the hlc bound it became). */
  private heading(res: ConflictsResult, asOfTyped: string | undefined, empty: boolean): string {
    const scope = `lens ${res.lens}${res.asOf ? `, as of ${asOfTyped ?? res.asOf}` : ''}${res.validAt ? `, valid at ${res.validAt}` : ''}`
    return empty ? `no contested pairs${res.minScore > 0 ? ` at conflict >= ${res.minScore}` : ''} among ${res.pairs}` + dim(`  (${visible(scope)})`) : bold('contested pairs') + dim(`  (${visible(scope)})`)
  }
}
