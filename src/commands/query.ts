import {Args, Flags} from '@oclif/core'
import {SELF_IN_LENS, StemeCommand} from '../command.js'
import {queryOp, type QueryResult} from '../ops/query.js'
import {hasRecords, notEmpty, patternNote, sameLookingNotes} from '../ops/log.js'
import {answerCell, bold, dim, field, shown, table, visible} from '../ui/table.js'

export default class Query extends StemeCommand {
  static summary = 'Answer a question about a subject through a lens, and say why'
  static description = `A lens expression is filters, then a fallback chain of lenses (docs/lenses.md):
  recency | confidence | consensus | votes | authority | trust | skeptic | epoch | reliability
  "epoch:current, then trust, else recency"   "source:fda:*, then consensus"   "skeptic(threshold=0.3)"

--as-of is what this store KNEW then (records stamped up to it, retractions and votes included).
--valid-at is what HELD IN THE WORLD then (assertions whose valid range covers the date); an
assertion supersedes another only at dates its own valid range covers.

${SELF_IN_LENS}`
  static examples = [
    '<%= config.bin %> query drug:aspirin',
    '<%= config.bin %> query drug:aspirin bleeding_rate --all --explain',
    '<%= config.bin %> query drug:aspirin bleeding_rate --lens "epoch:current, then trust, else recency"',
    '<%= config.bin %> query drug:aspirin bleeding_rate --as-of 2026-01-01 --json',
    '<%= config.bin %> query service:api tls_min_version --valid-at 2025-06-01',
    '<%= config.bin %> query drug:aspirin dose --lens "agent:self, then recency" --remote https://steme.example:7411',
  ]
  static args = {
    subject: Args.string({required: true, description: 'the subject to resolve'}),
    predicate: Args.string({description: 'one predicate (default: every predicate of the subject)'}),
  }
  static flags = {
    lens: Flags.string({char: 'l', description: 'lens expression (default: [query] lens in the store config, else recency)'}),
    all: Flags.boolean({char: 'a', description: 'list every candidate value with its score, and every assertion with its state'}),
    explain: Flags.boolean({char: 'e', description: "say why the winner won, and which retractions of its and the other candidates' assertions this store set aside (their author is not trusted here)"}),
    'as-of': Flags.string({description: 'what the store knew then: only records stamped up to this date or hlc'}),
    'valid-at': Flags.string({description: "what held in the world at this date (from assertions' valid ranges)"}),
    'include-retracted': Flags.boolean({description: 'let retracted assertions take part (they stay marked)'}),
    ...StemeCommand.remoteFlags,
  }

  async run(): Promise<QueryResult> {
    const {args, flags} = await this.parse(Query)
    notEmpty(args.subject, 'subject', '`steme query drug:aspirin`')
    notEmpty(args.predicate, 'predicate', '`steme query drug:aspirin bleeding_rate`')
    // Read-only, so queries never lock the store; except that the reliability lens caches its
    // store-wide training in the store's meta table, where the store is writable (on one that
    // is not, it trains afresh each time).
    const t = await this.target(flags, {readOnly: /\breliability\b/.test(flags.lens ?? '') ? 'if-unwritable' : true, dbThreads: 1})
    const input = {
      subject: args.subject,
      predicate: args.predicate,
      lens: flags.lens,
      asOf: flags['as-of'],
      validAt: flags['valid-at'],
      includeRetracted: flags['include-retracted'],
    }
    const res = t.remote ? await t.remote.query(input) : await queryOp(t.rt, input)
    // On stderr, so --json output stays as it was.
    for (const n of await sameLookingNotes(args.subject, hasRecords(t))) this.note(visible(`note: ${n}`))
    for (const n of res.notes ?? []) this.note(visible(`note: ${n}`))
    const pattern = res.candidates.length === 0 ? patternNote(args.subject) : undefined
    if (pattern) this.note(pattern)
    if (this.jsonEnabled()) return res
    if (res.candidates.length === 0) {
      // Say when the answer is bounded in time: the store may hold assertions stamped later.
      const when = res.asOf ? ` as of ${field(flags['as-of'] ?? res.asOf)}` : ''
      this.out(`no assertions about ${field(args.subject)}${args.predicate ? ' ' + field(args.predicate) : ''}${when}`)
      return res
    }
    // A score no value over all dates could make (one value: the other held only before what supersedes it did) is marked, and its date said.
    const dated = res.resolutions.filter((r) => r.candidates.length < 2 && r.conflict > 0)
    const rows = res.resolutions.map((r) => [r.predicate, answerCell(r.winner?.key, r.status), r.winner ? r.winner.probability.toFixed(2) : '-', r.conflict.toFixed(2) + (dated.includes(r) ? '†' : ''), r.candidates.length])
    // The lens is an expression in its own notation (quoted strings with backslash escapes): made visible, not escaped again.
    this.out(bold(field(res.subject)) + dim(visible(`  (lens ${res.lens}${res.asOf ? `, as of ${flags['as-of'] ?? res.asOf}` : ''}${res.validAt ? `, valid at ${res.validAt}` : ''})`)))
    this.out(table(['PREDICATE', 'VALUE', 'P', 'CONFLICT', 'VALUES'], rows))
    for (const r of dated) {
      const at = r.conflictAt === undefined ? 'a date' : `${r.conflictAt} (--valid-at ${r.conflictAt} gives its camps)`
      this.out(dim(visible(`† ${r.predicate}: the conflict is that of ${at}, when a value since superseded (or of another epoch) still held; VALUES and the answer are over all dates`)))
    }
    for (const r of res.resolutions) {
      if (flags.explain) {
        this.out('')
        for (const line of r.explanation) this.out(`  ${field(r.predicate)}: ${visible(line)}`)
      }
      if (flags.all) {
        this.out('')
        this.out(bold(field(r.predicate)))
        this.out(table(['VALUE', 'SCORE', 'P', 'WITNESSES', 'AGENTS'], r.candidates.map((c) => [shown(c.key), c.score.toFixed(3), c.probability.toFixed(2), c.witnesses, c.agents])))
        const mine = res.candidates.filter((c) => c.predicate === r.predicate)
        this.out(table(['ID', 'STATE', 'VALUE', 'AGENT', 'SOURCE', 'WHY'], mine.map((c) => [c.id.slice(0, 12), c.state, shown(JSON.stringify(c.value)), c.agent.slice(0, 12), c.source ?? '', shown((c.why ?? []).join(' ').trim())])))
      }
    }
    return res
  }
}
