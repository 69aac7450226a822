import {Args, Flags} from '@oclif/core'
import {StemeCommand} from '../command.js'
import {retractOp, type RetractResult} from '../ops/retract.js'
import {visible} from '../ui/table.js'
import {plural} from '../core/words.js'

export default class Retract extends StemeCommand {
  static summary = 'Retract a record, or every assertion citing a source; derived assertions follow unless they have another justification'
  static description = `Nothing is deleted: the retraction is a signed record, and \`steme query --include-retracted\` still shows what it retracted.
Whose retractions count is the local policy: your own key, pre-trusted agents, agents of tier trusted or above, and any agent for its own records.
\`steme show <id>\` explains why an assertion is retracted, with the chain.`
  static examples = ['<%= config.bin %> retract 3f2a...(64 hex) --reason "typo"', '<%= config.bin %> retract --source lab:batch-7 --reason "contaminated samples"']
  static args = {id: Args.string({description: 'the record id to retract (or a unique prefix of it, 6+ hex chars)'})}
  static flags = {
    source: Flags.string({char: 's', description: 'retract every assertion citing this source instead', exclusive: ['id']}),
    reason: Flags.string({char: 'r', description: 'why, for the people reading `steme show`'}),
    key: StemeCommand.keyFlag(),
  }

  async run(): Promise<RetractResult> {
    const {args, flags} = await this.parse(Retract)
    const rt = await this.open({store: flags.store, keyName: flags.key})
    const res = await retractOp(rt, {target: args.id, source: flags.source, reason: flags.reason})
    this.out(res.id)
    if (res.targetKind !== undefined && res.targetKind !== 'assertion') this.note(`retracted the ${res.targetKind} ${res.target}`)
    else this.note(`retracted ${plural(res.direct, 'assertion')} directly, ${res.derived} derived; ${res.kept} derived kept by another justification`)
    // A source retraction also covers assertions that arrive later: a misspelt source is worth a word.
    if (flags.source !== undefined && res.direct === 0) this.note(`note: no stored assertion cites source "${visible(flags.source)}"; it stands, permanently, for any that cite it later (check the spelling with \`steme log --json\`)`)
    return res
  }
}
